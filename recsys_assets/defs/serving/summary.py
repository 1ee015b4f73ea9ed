"""The run summary: what the latest materializations produced, with the AWS cost estimate, as run_summary.json."""

import json
import time
from collections import Counter
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    AutomationCondition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from recsys_assets.aws_formats.costs import estimate_usage, usage_report
from recsys_assets.aws_formats.personalize_datasets import PERSONALIZE_PREFIX
from recsys_assets.defs.conventions import SERVING
from recsys_assets.defs.delivery.assets import FAILED_BY_REASON, OUTCOME_COUNTS
from recsys_assets.defs.marketing.assets import SEGMENT_NAMES, SKIPPED_BY_REASON
from recsys_assets.defs.marketing.recipients import EXAMPLE_ADDRESSES
from recsys_assets.defs.partitions import raw_files
from recsys_assets.defs.serving.assets import RECOMMENDATIONS_CSV
from recsys_assets.emails.recipients import REASONS
from recsys_assets.resources.io_manager import TABLES_PREFIX
from recsys_assets.resources.object_store import LocalObjectStore, ObjectStore
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.resources.profile_store import ProfileStore, SqliteProfileStore

SUMMARY_FILE = "run_summary.json"
CATALOG_TABLES = ("products", "users", "reviews", "interactions")


class RunSummaryConfig(Config):
    """started_at: when the runs summarized started (Unix time); 0 means at the first file's ingest."""

    started_at: float = 0.0


def _latest(context: AssetExecutionContext, asset: str, partition: str | None = None):
    """The newest materialization of an asset (or of one partition) as {metadata key: value}, with its timestamp."""
    filter_ = AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition] if partition else None)
    records = context.instance.fetch_materializations(filter_, limit=1).records
    if not records:
        return None
    metadata = {k: v.value for k, v in records[0].asset_materialization.metadata.items()}
    return metadata | {"_timestamp": records[0].timestamp}


def stored_sizes(storage: ObjectStore) -> dict[str, int]:
    """{key: bytes} of what the storage holds: the local folder, or the S3 prefix."""
    if isinstance(storage, LocalObjectStore):
        root = Path(storage.root)
        return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}
    return storage.object_sizes()


def profiles_location(profiles: ProfileStore) -> str:
    """The SQLite file, or the DynamoDB tables' prefix."""
    if isinstance(profiles, SqliteProfileStore):
        return str(Path(profiles.path).resolve())
    return f"dynamodb:{getattr(profiles, 'table_prefix', '')}*"


def quarantine_reasons(per_file: list[dict[str, int]]) -> dict[str, int]:
    """{reason: quarantined rows} over every input file, most frequent first."""
    return summed_counts(per_file)


def skipped_reasons(per_segment: list[dict[str, int]]) -> dict[str, int]:
    """{reason: customers who got no email} over every segment served, most frequent first (ties in REASONS order)."""
    totals = sum((Counter(counts) for counts in per_segment), Counter())
    return dict(sorted(totals.items(), key=lambda item: (-item[1], REASONS.index(item[0]))))


def summed_counts(counts: list[dict[str, int]]) -> dict[str, int]:
    """{reason: count} summed over several counts, most frequent first."""
    return dict(sum((Counter(c) for c in counts), Counter()).most_common())


def delivery_counts(latest: dict[str, dict]) -> dict:
    """The latest send of each segment that was sent ({segment: email_deliveries' metadata}): per segment its
    campaign and counts (sent, failed, holdout, skipped, uncertain), the totals, and failures and skips by reason."""
    segments = {name: {"campaign": m["campaign"], **m[OUTCOME_COUNTS]} for name, m in latest.items()}
    counts = ("sent", "failed", "holdout", "skipped", "uncertain")
    return {
        "segments": segments,
        **{count: sum(int(m[count]) for m in segments.values()) for count in counts},
        "failed_reasons": summed_counts([m[FAILED_BY_REASON] for m in latest.values()]),
        "skipped_reasons": summed_counts([m[SKIPPED_BY_REASON] for m in latest.values()]),
    }


@asset(group_name=SERVING, deps=["recommendations_export"], automation_condition=AutomationCondition.eager())
def run_summary(
    context: AssetExecutionContext,
    config: RunSummaryConfig,
    settings: PipelineSettings,
    storage: ObjectStore,
    profiles: ProfileStore,
) -> MaterializeResult:
    """run_summary.json: files read, row counts, quarantine reasons, per-segment emails, the customers who got none
    (by reason) and whether the addresses are demo ones, offline metrics and the estimated AWS usage, from the latest
    materializations this instance holds (a segment never served is left out)."""
    files = context.instance.get_dynamic_partitions(raw_files.name)
    ingested = [m for f in files if (m := _latest(context, "rejected_rows", f)) is not None]
    scored = [m for f in files if (m := _latest(context, "file_sentiment", f)) is not None]
    catalog = {
        name: _latest(context, name)
        for name in (*CATALOG_TABLES, "customer_segments", "recommender_model", "recipients")
    }
    served = {}
    for name in catalog["customer_segments"][SEGMENT_NAMES]:
        recs, emails = _latest(context, "recommendations", name), _latest(context, "emails", name)
        if recs is not None and emails is not None:
            served[name] = (recs, emails)
    per_segment = {
        name: {
            "users": int(recs["segment_users"]),
            "emails_written": int(emails["emails_written"]),
            "emails_kept": int(emails["emails_reused"]),
            "emails_failed": int(emails["emails_failed"]),
            "emails_skipped": int(emails["emails_skipped"]),
        }
        for name, (recs, emails) in served.items()
    }
    started = config.started_at or min((m["_timestamp"] for m in ingested), default=time.time())
    summary = {
        "input": settings.input_location,
        "files": files,
        "counts": {
            **{name: int(catalog[name]["dagster/row_count"]) for name in CATALOG_TABLES},
            "quarantined_rows": sum(int(m["dagster/row_count"]) for m in ingested),
            "recommendations": sum(int(recs["dagster/row_count"]) for recs, _ in served.values()),
        },
        "quarantine_reasons": quarantine_reasons([m["reason_counts"] for m in ingested]),
        "segments": per_segment,
        **{
            count: sum(counts[count] for counts in per_segment.values())
            for count in ("emails_written", "emails_kept", "emails_failed", "emails_skipped")
        },
        "skipped_reasons": skipped_reasons([emails[SKIPPED_BY_REASON] for _, emails in served.values()]),
        "demo_addresses": int(catalog["recipients"][EXAMPLE_ADDRESSES]),
        "deliveries": delivery_counts(
            {
                name: metadata
                for name in catalog["customer_segments"][SEGMENT_NAMES]
                if (metadata := _latest(context, "email_deliveries", name)) is not None and not metadata["dry_run"]
            }
        ),
        "offline_metrics": catalog["recommender_model"]["offline_metrics"],
        "outputs": {
            "recommendations_csv": storage.location(RECOMMENDATIONS_CSV),
            "emails": storage.location("emails"),
            "profiles": profiles_location(profiles),
            "asset_tables": storage.location(TABLES_PREFIX),
        },
        "seconds": round(time.time() - started, 2),
    }
    summary["aws_usage"] = aws_usage(settings, storage, summary, sum(int(m["comprehend_units"]) for m in scored))
    storage.write_bytes(SUMMARY_FILE, (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    return MaterializeResult(metadata={"summary": MetadataValue.json(summary)})


def aws_usage(settings: PipelineSettings, storage: ObjectStore, summary: dict, comprehend_units: int) -> dict:
    """What the runs consumed on AWS, or would have for the roles run locally, with an estimated price."""
    sizes = stored_sizes(storage)
    counts = summary["counts"]
    usage = estimate_usage(
        comprehend_units=comprehend_units,
        interactions=counts["interactions"],
        users=counts["users"],
        emails=summary["emails_written"],
        products_per_email=settings.num_results,
        profile_rows=counts["products"] + counts["users"] + counts["recommendations"],
        stored_objects=len(sizes),
        stored_bytes=sum(sizes.values()),
        personalize_bytes=sum(size for key, size in sizes.items() if key.startswith(PERSONALIZE_PREFIX)),
    )
    return {"aws_roles": list(settings.aws_roles), **usage_report(usage)}
