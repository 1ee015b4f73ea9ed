"""`recsys run`: materialize the graph in-process, the way the sensors would, and return the run summary asset."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path

from dagster import DagsterInstance

from recsys_assets.definitions import build_definitions
from recsys_assets.defs.ingest.sensors import INPUT_SUFFIXES
from recsys_assets.defs.marketing.assets import CHECK_SUMMARY, SEGMENT_NAMES
from recsys_assets.defs.partitions import raw_files, segments
from recsys_assets.defs.serving.summary import SUMMARY_FILE
from recsys_assets.emails.gallery import INDEX_PAGE
from recsys_assets.environment import RunOptions, build_resources
from recsys_assets.files import write_atomic
from recsys_assets.home_lock import hold_home
from recsys_assets.resources.object_store import ObjectStore

ERROR_CLASS_PREFIX = re.compile(r"^[\w.]+(Error|Exception|Failure|InUse): ")
# Dagster's wrappers around the error raised in an asset, an IO manager or a resource
DAGSTER_WRAPPERS = (
    "DagsterExecutionStepExecutionError",
    "DagsterUserCodeExecutionError",
    "DagsterExecutionHandleOutputError",
    "DagsterExecutionLoadInputError",
    "DagsterResourceFunctionError",
)


class PipelineError(RuntimeError):
    """The run failed; the message says which step and why."""


def inbox_files(storage: ObjectStore, input_location: str) -> tuple[str, list[str]]:
    """(inbox, file keys relative to it) for one catalog file, or the CSV files under a folder/prefix
    as the inbox sensor takes them: oldest first (modification time, then key), so a newer file's
    rows win downstream; none of the store's own files (a home inside the inbox)."""
    objects = sorted(storage.list_inputs(input_location), key=lambda o: (o.modified, o.key))
    keys = [o.key for o in objects]
    if keys == [input_location]:  # one file, named by the user: read whatever its suffix
        inbox, _, name = input_location.rpartition("/")
        return inbox, [name]
    keys = [key for key in keys if key.lower().endswith(INPUT_SUFFIXES)]
    if not keys:
        raise PipelineError(f"{storage.location(input_location)}: no CSV file found there")
    folder = input_location.rstrip("/") + "/"
    return folder.rstrip("/"), [key[len(folder) :] for key in keys]


def run_pipeline(options: RunOptions, segment: str | None = None, verbose: bool = False) -> dict:
    """Materialize everything in-process, the way the sensors would: one run per input file, one for the
    catalog and model, one per customer segment (or only `segment`), one for the export and the run summary.
    Holds the home for the whole run (`home_lock`: another run on it is a HomeInUse error). Returns the
    summary the run_summary asset wrote (run_summary.json in the storage, copied to <home> on S3)."""
    command = f"recsys run --input {options.input_location}" + (f" --segment {segment}" if segment else "")
    with hold_home(options.home, command):
        return _run_holding_home(options, segment, verbose)


def _run_holding_home(options: RunOptions, segment: str | None, verbose: bool) -> dict:
    started = time.time()
    resources = build_resources(options)
    storage = resources["storage"]
    local = options.storage == "local"
    try:
        inbox, files = inbox_files(
            storage, str(Path(options.input_location).resolve()) if local else options.input_location
        )
    except PipelineError as error:
        if local or not Path(options.input_location).exists():
            raise
        raise PipelineError(
            f"{error}. {options.input_location} is a local path, but with RECSYS_STORAGE=s3 the input is read from "
            f"the bucket: upload it (aws s3 cp --recursive for a folder) to {storage.location('inbox/')} and run "
            "with --input inbox"
        ) from None
    defs = build_definitions(replace(options, input_location=inbox))
    with DagsterInstance.ephemeral() as instance:

        def execute(job_name: str, partition_key: str | None = None, config: dict | None = None) -> dict[str, dict]:
            result = execute_job(defs, instance, job_name, verbose, partition_key, config)
            return {
                e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
                for e in result.get_asset_materialization_events()
            }

        instance.add_dynamic_partitions(raw_files.name, files)
        for key in files:
            execute("ingest_file_job", key)
        catalog = execute("catalog_job")
        names = catalog["customer_segments"][SEGMENT_NAMES]
        if segment is not None and segment not in names:
            raise PipelineError(f"no segment {segment!r}; the segments are: {', '.join(names)}")
        instance.add_dynamic_partitions(segments.name, names)
        for name in [segment] if segment else names:
            execute("segment_job", name)
        execute("export_job", config={"ops": {"run_summary": {"config": {"started_at": started}}}})
    summary = json.loads(storage.read_bytes(SUMMARY_FILE))
    if not local:  # the summary is in S3 with the outputs; a copy stays next to the command
        write_atomic(Path(options.home) / SUMMARY_FILE, (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    return summary


# Run config that keeps Dagster's event log off the terminal (--verbose shows it).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def execute_job(
    defs, instance: DagsterInstance, job_name: str, verbose: bool, partition_key: str | None = None, config=None
):
    """Run a job of `defs` in-process on `instance` (quiet unless `verbose`); a failure is a PipelineError naming the
    step and why."""
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=instance,
        partition_key=partition_key,
        raise_on_error=False,
        run_config=({} if verbose else QUIET) | (config or {}),
    )
    if not result.success:
        raise PipelineError(failure_message(result))
    return result


def failure_message(result) -> str:
    """The first step failure, as the user-facing error (without the Dagster stack trace)."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error.cause is not None and error.cls_name in DAGSTER_WRAPPERS:
                error = error.cause
            return f"{event.step_key} failed: {ERROR_CLASS_PREFIX.sub('', error.message.strip())}"
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            evaluation = event.event_specific_data
            summary = evaluation.metadata.get(CHECK_SUMMARY)
            return f"check {evaluation.asset_check_key.to_user_string()} failed" + (
                f": {summary.value}" if summary else ""
            )
    return "the run failed"


def format_summary(summary: dict) -> str:
    """A short, human-readable summary of a run."""
    counts = summary["counts"]
    metrics = summary["offline_metrics"]
    lines = [
        f"recsys run: {summary['input']} in {summary['seconds']:.1f} s",
        "  " + ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in counts.items()),
        f"  {summary['emails_written']:,} emails written, {summary['emails_kept']:,} kept unchanged, "
        f"{summary['emails_failed']:,} failed, in "
        f"{len(summary['segments'])} segments ({', '.join(summary['segments'])}); every schema check passed",
    ]
    if summary["emails_skipped"]:
        reasons = ", ".join(f"{count:,} {reason}" for reason, count in summary["skipped_reasons"].items())
        lines.append(f"  {summary['emails_skipped']:,} customers got no email: {reasons}")
    if summary["demo_addresses"]:
        lines.append(
            f"  {summary['demo_addresses']:,} addresses are at example domains (RFC 2606): demo addresses, which "
            "reach no one"
        )
    lines.append("  offline metrics (held-out users)".ljust(48) + "".join(f"{name:>19}" for name in metrics))
    for metric in metrics["model"]:
        lines.append(f"    {metric:<44}" + "".join(f"{_number(values[metric]):>19}" for values in metrics.values()))
    lines.append("  outputs:")
    lines += [f"    {name:<20} {path}" for name, path in summary["outputs"].items()]
    lines.append("  campaign previews (open one in a browser, search by customer, open a card to see the email;")
    lines.append("  the .eml files next to it open in any mail client):")
    lines += [f"    {name:<20} {summary['outputs']['emails']}/{name}/{INDEX_PAGE}" for name in summary["segments"]]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "    n/a" if value is None else f"{value:7.4f}"
