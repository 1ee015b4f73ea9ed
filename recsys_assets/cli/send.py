"""`recsys send`: the campaign's emails sent, segment by segment, in-process on the home `recsys run` made."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pandas as pd
from dagster import DagsterInstance

from recsys_assets.cli.run import PipelineError, execute_job
from recsys_assets.definitions import build_definitions
from recsys_assets.defs.delivery.assets import FAILED_BY_REASON, OUTCOME_COUNTS, UNLIMITED
from recsys_assets.defs.marketing.assets import SKIPPED_BY_REASON
from recsys_assets.defs.partitions import segments
from recsys_assets.defs.serving.summary import SUMMARY_FILE
from recsys_assets.environment import RunOptions, build_resources
from recsys_assets.home_lock import hold_home
from recsys_assets.resources.io_manager import table_key

SEGMENTS_TABLE = table_key(["customer_segments"]) + ".parquet"


def send_campaign(
    options: RunOptions,
    segment: str | None = None,
    dry_run: bool = False,
    resend_uncertain: bool = False,
    verbose: bool = False,
) -> dict:
    """Run the notifications job (unless `dry_run`), then the send job for every segment (or only `segment`) of
    the home's latest run; returns {"campaign", "dry_run", "segments": {name: counts}, "would_send": DataFrame}.
    Holds the home shared: a `recsys run` waits, another send does not (the ledger keeps them apart)."""
    command = "recsys send" + (f" --segment {segment}" if segment else "")
    with hold_home(options.home, command, exclusive=False):
        storage = build_resources(options)["storage"]
        if not storage.exists(SEGMENTS_TABLE):
            raise PipelineError(f"{storage.location(SEGMENTS_TABLE)} is missing: run `recsys run` first")
        names = sorted(storage.read_parquet(SEGMENTS_TABLE)["segment"].astype(str).unique())
        if segment is not None and segment not in names:
            raise PipelineError(f"no segment {segment!r}; the segments are: {', '.join(names)}")
        if storage.exists(SUMMARY_FILE):  # the inbox the run read, where notification files arrive too
            options = replace(options, input_location=json.loads(storage.read_bytes(SUMMARY_FILE))["input"])
        defs = build_definitions(options)
        send_config = {
            "ops": {"email_deliveries": {"config": {"dry_run": dry_run, "resend_uncertain": resend_uncertain}}}
        }
        per_segment, planned = {}, []
        with DagsterInstance.ephemeral() as instance:
            instance.add_dynamic_partitions(segments.name, names)

            if not dry_run:
                execute_job(defs, instance, "notifications_job", verbose)
            for name in [segment] if segment else names:
                result = execute_job(defs, instance, "send_job", verbose, name, send_config)
                event = result.get_asset_materialization_events()[0]
                metadata = {k: v.value for k, v in event.materialization.metadata.items()}
                per_segment[name] = metadata
                table = result.output_for_node("email_deliveries")
                planned.append(table[table["status"].eq("would send")].assign(segment=name))
        report = {
            "campaign": next(iter(per_segment.values()))["campaign"] if per_segment else "",
            "dry_run": dry_run,
            "segments": per_segment,
            "would_send": pd.concat(planned, ignore_index=True) if planned else pd.DataFrame(),
        }
    return report


def format_report(report: dict) -> str:
    """What the send did (or, in a dry run, would do), per segment and in all, with the reasons counted."""
    totals, skipped, failed = Counter(), Counter(), Counter()
    lines = [f"recsys send: campaign {report['campaign']}" + (" (dry run: nothing sent)" if report["dry_run"] else "")]
    if report["dry_run"]:
        lines += [
            f"  would send to {row.user_id} <{row.email}> ({row.segment})" for row in report["would_send"].itertuples()
        ]
    for name, metadata in report["segments"].items():
        counts = metadata[OUTCOME_COUNTS]
        totals.update(counts)
        skipped.update(metadata[SKIPPED_BY_REASON])
        failed.update(metadata[FAILED_BY_REASON])
        rate = (
            ""
            if report["dry_run"]
            else f"; {metadata['messages_per_second']:g} a second ("
            + ("no limit" if metadata["max_send_rate"] == UNLIMITED else f"at most {metadata['max_send_rate']}")
            + ")"
        )
        lines.append(f"  {name}: " + _counts(counts, report["dry_run"]) + rate)
    lines.append("  in all: " + _counts(totals, report["dry_run"]))
    if skipped:
        lines.append("  skipped: " + ", ".join(f"{reason} {n:,}" for reason, n in skipped.most_common()))
    if failed:
        lines.append("  failed: " + ", ".join(f"{reason} {n:,}" for reason, n in failed.most_common()))
    if totals["uncertain"]:
        lines.append(
            f"  {totals['uncertain']:,} uncertain: a sender stopped while sending them and may have sent them; "
            "`recsys send --resend-uncertain` sends them again with the same Message-ID"
        )
    return "\n".join(lines)


def _counts(counts: dict, dry_run: bool) -> str:
    first = (
        f"{counts['would_send']:,} would be sent"
        if dry_run
        else f"{counts['sent']:,} sent, {counts['failed']:,} failed"
    )
    return f"{first}, {counts['holdout']:,} held out, {counts['skipped']:,} skipped"
