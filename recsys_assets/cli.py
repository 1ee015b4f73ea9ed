"""`recsys`: run the asset graph without the UI, and make sample catalogs."""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from dagster import DagsterInstance

import pandas as pd

from recsys_assets.assets.partitions import raw_files, segments
from recsys_assets.assets.recommender import segment_csv
from recsys_assets.assets.segments import SEGMENT_NAMES
from recsys_assets.catalog import utf8_error_place
from recsys_assets.costs import estimate_usage, usage_report
from recsys_assets.definitions import build_definitions
from recsys_assets.personalize_format import PERSONALIZE_PREFIX
from recsys_assets.resources.storage import ObjectStore, neutralize_formulas
from recsys_assets.sensors import INPUT_SUFFIXES
from recsys_assets.sentiment import DEFAULT_LEXICON, LEXICONS, score_texts
from recsys_assets.settings import DEFAULT_HOME, DEFAULT_INPUT, RunOptions, SettingsError, build_resources

SUMMARY_FILE = "run_summary.json"
ERROR_CLASS_PREFIX = re.compile(r"^[\w.]+(Error|Exception|Failure): ")
class PipelineError(RuntimeError):
    """The run failed; the message says which step and why."""


def inbox_files(storage: ObjectStore, input_location: str) -> tuple[str, list[str]]:
    """(inbox, file keys relative to it) for one catalog file, or the CSV files under a folder/prefix
    listed as the inbox sensor lists them."""
    keys = storage.list_keys(input_location)
    if keys == [input_location]:  # one file, named by the user: read whatever its suffix
        inbox, _, name = input_location.rpartition("/")
        return inbox, [name]
    keys = [key for key in keys if key.lower().endswith(INPUT_SUFFIXES)]
    if not keys:
        raise PipelineError(f"{storage.location(input_location)}: no CSV file found there")
    folder = input_location.rstrip("/") + "/"
    return folder.rstrip("/"), [key[len(folder) :] for key in keys]


def stored_sizes(options: RunOptions, storage: ObjectStore) -> dict[str, int]:
    """{key: bytes} of what the run's storage holds: the home folder, or the S3 prefix."""
    if options.storage == "local":
        home = Path(options.home)
        return {str(p.relative_to(home)): p.stat().st_size for p in home.rglob("*") if p.is_file()}
    return storage.object_sizes()


def aws_usage(options: RunOptions, storage: ObjectStore, summary: dict, comprehend_units: int) -> dict:
    """What this run consumed on AWS, or would have for the roles it ran locally, with an estimated price."""
    sizes = stored_sizes(options, storage)
    counts = summary["counts"]
    usage = estimate_usage(
        comprehend_units=comprehend_units,
        interactions=counts["interactions"],
        users=counts["users"],
        emails=summary["emails_written"],
        products_per_email=options.num_results,
        profile_rows=counts["products"] + counts["users"] + counts["recommendations"],
        stored_objects=len(sizes),
        stored_bytes=sum(sizes.values()),
        personalize_bytes=sum(size for key, size in sizes.items() if key.startswith(PERSONALIZE_PREFIX)),
    )
    return {"aws_roles": options.aws_roles(), **usage_report(usage)}


def run_pipeline(options: RunOptions, segment: str | None = None, verbose: bool = False) -> dict:
    """Materialize everything in-process, the way the sensors would: one run per input file, one for the
    catalog and model, one per customer segment (or only `segment`). Returns the run summary, also
    written to <home>/run_summary.json, and combines the segments' CSVs into <home>/recommendations.csv."""
    started = time.perf_counter()
    storage = build_resources(options)["storage"]
    local = options.storage == "local"
    inbox, files = inbox_files(storage, str(Path(options.input_location).resolve()) if local else options.input_location)
    defs = build_definitions(replace(options, input_location=inbox))
    run_config = None if verbose else {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    with DagsterInstance.ephemeral() as instance:

        def execute(job_name: str, partition_key: str | None = None) -> dict[str, dict]:
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance, partition_key=partition_key, raise_on_error=False, run_config=run_config
            )
            if not result.success:
                raise PipelineError(_failure_message(result))
            return {
                e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
                for e in result.get_asset_materialization_events()
            }

        instance.add_dynamic_partitions(raw_files.name, files)
        ingested = [execute("ingest_file_job", key) for key in files]
        catalog = execute("catalog_job")
        names = catalog["customer_segments"][SEGMENT_NAMES]
        if segment is not None and segment not in names:
            raise PipelineError(f"no segment {segment!r}; the segments are: {', '.join(names)}")
        instance.add_dynamic_partitions(segments.name, names)
        served = {name: execute("segment_job", name) for name in ([segment] if segment else names)}
    home = Path(options.home)
    home.mkdir(parents=True, exist_ok=True)
    # the segment CSVs are already spreadsheet-safe (written with for_spreadsheets=True)
    combined = pd.concat([pd.read_csv(io.BytesIO(storage.read_bytes(segment_csv(name))), dtype={"USER_ID": str, "ITEM_ID": str}) for name in names])
    combined.sort_values(["USER_ID", "RANK"], kind="stable").to_csv(home / "recommendations.csv", index=False)
    summary = {
        "input": options.input_location,
        "files": files,
        "counts": {
            **{name: int(catalog[name]["dagster/row_count"]) for name in ("products", "users", "reviews", "interactions")},
            "quarantined_rows": sum(int(meta["rejected_rows"]["dagster/row_count"]) for meta in ingested),
            "recommendations": len(combined),
        },
        "quarantine_reasons": quarantine_reasons([meta["rejected_rows"]["reason_counts"] for meta in ingested]),
        "segments": {
            name: {
                "users": int(meta["recommendations"]["segment_users"]),
                "emails_written": int(meta["emails"]["emails_written"]),
                "emails_failed": int(meta["emails"]["emails_failed"]),
            }
            for name, meta in served.items()
        },
        "emails_written": sum(int(meta["emails"]["emails_written"]) for meta in served.values()),
        "emails_failed": sum(int(meta["emails"]["emails_failed"]) for meta in served.values()),
        "offline_metrics": catalog["recommender"]["offline_metrics"],
        "outputs": {
            "recommendations_csv": str((home / "recommendations.csv").resolve()),
            "emails": str((home / "emails").resolve()),
            "profiles": str((home / "profiles.sqlite").resolve()),
            "asset_tables": str((home / "assets").resolve()),
        },
        "seconds": round(time.perf_counter() - started, 2),
    }
    units = sum(int(meta["file_sentiment"]["comprehend_units"]) for meta in ingested)
    summary["aws_usage"] = aws_usage(options, storage, summary, units)
    (home / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def quarantine_reasons(per_file: list[dict[str, int]]) -> dict[str, int]:
    """{reason: quarantined rows} over every input file, most frequent first."""
    return dict(sum((Counter(counts) for counts in per_file), Counter()).most_common())


def _failure_message(result) -> str:
    """The first step failure, as the user-facing error (without the Dagster stack trace)."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error.cause is not None and error.cls_name in ("DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"):
                error = error.cause
            return f"{event.step_key} failed: {ERROR_CLASS_PREFIX.sub('', error.message.strip())}"
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            return f"check {event.event_specific_data.asset_check_key.to_user_string()} failed"
    return "the run failed"


def format_summary(summary: dict) -> str:
    """A short, human-readable summary of a run."""
    counts = summary["counts"]
    metrics = summary["offline_metrics"]
    lines = [
        f"recsys run: {summary['input']} in {summary['seconds']:.1f} s",
        "  " + ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in counts.items()),
        f"  {summary['emails_written']:,} emails written, {summary['emails_failed']:,} failed, in "
        f"{len(summary['segments'])} segments ({', '.join(summary['segments'])}); every schema check passed",
        "  offline metrics (held-out users)".ljust(48) + "".join(f"{name:>19}" for name in metrics),
    ]
    for metric in metrics["model"]:
        lines.append(f"    {metric:<44}" + "".join(f"{_number(values[metric]):>19}" for values in metrics.values()))
    lines.append("  outputs:")
    lines += [f"    {name:<20} {path}" for name, path in summary["outputs"].items()]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "    n/a" if value is None else f"{value:7.4f}"


def _run(args: argparse.Namespace) -> int:
    try:
        # the roles and AWS settings come from RECSYS_* variables; the flags set the rest
        options = replace(
            RunOptions.from_environment(), home=args.home, input_location=args.input, num_results=args.num_results, sentiment_workers=args.workers
        )
        summary = run_pipeline(options, segment=args.segment, verbose=args.verbose)
    except (PipelineError, SettingsError) as error:
        print(f"recsys run failed: {error}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    return 0


def _sample(args: argparse.Namespace) -> int:
    from recsys_assets.sample import generate_catalog, write_catalog

    catalog = generate_catalog(n_products=args.products, n_users=args.users, n_reviews=args.reviews, seed=args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_catalog(catalog, args.out)
    print(f"wrote {args.out}: {len(catalog):,} products, {args.users:,} users, {args.reviews:,} reviews")
    return 0


def utf8_lines(data: bytes, source: str) -> list[str]:
    """The lines of a UTF-8 text (a BOM is dropped); bytes that are not UTF-8 are an error naming their line and column."""
    body = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{source}: {utf8_error_place(body, error)}") from None
    return [line.rstrip("\r\n") for line in io.StringIO(text, newline=None)]  # \n, \r\n or \r, as open() reads lines


def _sentiment(args: argparse.Namespace) -> int:
    try:
        texts = utf8_lines(Path(args.path).read_bytes(), args.path)
    except (OSError, ValueError) as error:
        print(f"recsys sentiment failed: {error}", file=sys.stderr)
        return 2
    scores = score_texts(texts, workers=args.workers, lexicon=args.lexicon)
    output = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    try:
        if args.format == "csv":
            neutralize_formulas(scores).to_csv(output, index=False, lineterminator="\n")
        else:
            output.writelines(json.dumps(row) + "\n" for row in scores.to_dict(orient="records"))
    finally:
        if args.out:
            output.close()
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    import logging

    from recsys_assets.jobs import delete_created
    from recsys_assets.settings import build_resources

    from botocore.exceptions import BotoCoreError, ClientError

    from recsys_assets.personalize import PersonalizeFailure

    resources = build_resources(RunOptions.from_environment())
    try:
        deleted = delete_created(
            resources["recommender_model"], resources["storage"], resources["profiles"], logging.getLogger("recsys.cleanup")
        )
    except (PersonalizeFailure, ClientError, BotoCoreError) as error:
        print(f"recsys cleanup failed: {error}", file=sys.stderr)
        return 2
    print("\n".join([f"recsys cleanup: deleted {len(deleted)} resources and objects", *(f"  {name}" for name in deleted)]))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from recsys_assets.evaluation import evaluation_report, read_interactions, read_items, report_table

    try:
        interactions = read_interactions(args.interactions)
        items = read_items(args.items) if args.items else None
    except (OSError, ValueError) as error:
        print(f"recsys evaluate failed: {error}", file=sys.stderr)
        return 2
    rejected = pd.concat([interactions.rejected, *([items.rejected] if items else [])], ignore_index=True)
    try:
        report_quarantine(rejected, args.quarantine)
    except OSError as error:
        print(f"recsys evaluate failed: --quarantine {args.quarantine}: {error}", file=sys.stderr)
        return 2
    report = evaluation_report(interactions.rows, items.rows if items else None)
    report["protocol"]["quarantined_rows"] = len(rejected)
    print(json.dumps(report) if args.json else report_table(report))
    return 0


def report_quarantine(rejected: pd.DataFrame, path: str | None, shown: int = 10) -> None:
    """Say on stderr which rows were left out and why (the first `shown`); all of them go to `path` when given."""
    if path:
        rejected.to_csv(path, index=False)
    if rejected.empty:
        return
    lines = [f"  {r.source_file} line {r.source_line}, {r.column}: {r.reason}" for r in rejected.head(shown).itertuples()]
    where = f"all of them in {path}" if path else "--quarantine PATH writes all of them"
    print("\n".join([f"recsys evaluate: {len(rejected):,} rows quarantined, left out of the evaluation ({where}):", *lines]), file=sys.stderr)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="recsys", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="materialize every asset and print a summary")
    run.add_argument("--input", default=DEFAULT_INPUT, help="catalog CSV, or a folder of them (an inbox)")
    run.add_argument("--segment", help="re-run the recommendations and emails of this customer segment only")
    run.add_argument("--home", default=DEFAULT_HOME, help="folder for every output")
    run.add_argument("--num-results", type=int, default=5, help="recommendations per customer")
    run.add_argument("--workers", type=int, default=0, help="sentiment processes (0: one per core, for large inputs)")
    run.add_argument("--verbose", action="store_true", help="show Dagster's event log")
    run.set_defaults(handler=_run)
    sample = commands.add_parser("sample", help="write a synthetic catalog in the amazon.csv format")
    sample.add_argument("--out", required=True)
    sample.add_argument("--products", type=int, default=200)
    sample.add_argument("--users", type=int, default=400)
    sample.add_argument("--reviews", type=int, default=3000)
    sample.add_argument("--seed", type=int, default=7)
    sample.set_defaults(handler=_sample)
    sentiment = commands.add_parser("sentiment", help="score a text file, one text per line, in Comprehend's shape")
    sentiment.add_argument("path", help="UTF-8 text file, one text per line")
    sentiment.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    sentiment.add_argument("--out", help="output file (default: standard output)")
    sentiment.add_argument("--lexicon", choices=LEXICONS, default=DEFAULT_LEXICON, help="plain VADER or VADER + review words")
    sentiment.add_argument("--workers", type=int, default=0, help="processes (0: one per core, for large inputs)")
    sentiment.set_defaults(handler=_sentiment)
    evaluate = commands.add_parser("evaluate", help="Personalize's offline metrics of every local model on interactions")
    evaluate.add_argument("--interactions", required=True, help="CSV: USER_ID, ITEM_ID, TIMESTAMP[, EVENT_TYPE, EVENT_VALUE]")
    evaluate.add_argument("--items", help="CSV: ITEM_ID plus metadata columns (CATEGORY, NAME, DESCRIPTION, ...)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    evaluate.add_argument("--quarantine", help="write the rows left out (file, line, column, reason, raw row) to this CSV")
    evaluate.set_defaults(handler=_evaluate)
    cleanup = commands.add_parser("cleanup", help="delete what the pipeline created on AWS (settings from RECSYS_* variables)")
    cleanup.set_defaults(handler=_cleanup)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
