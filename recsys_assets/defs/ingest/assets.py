"""Ingest: each input file becomes a raw partition; all of them become products, users and reviews."""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetOut,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from recsys_assets.catalog.reading import InputLimits, check_size, parse_catalog_csv
from recsys_assets.catalog.tables import build_products, build_users, explode_reviews
from recsys_assets.defs.automation import EAGER_OVER_FILES
from recsys_assets.defs.checks import schema_check_result, schema_check_spec
from recsys_assets.defs.conventions import INGEST
from recsys_assets.defs.metadata import share_table, table_metadata
from recsys_assets.defs.partitions import raw_files
from recsys_assets.formats.tables import SUPPRESSION_COLUMNS, empty_table
from recsys_assets.resources.object_store import ObjectStore
from recsys_assets.resources.pipeline_settings import PipelineSettings


def inbox_key(settings: PipelineSettings, file_key: str) -> str:
    """Where an input file (a raw_files partition) is, in the object store."""
    return f"{settings.input_location.rstrip('/')}/{file_key}"


@multi_asset(
    outs={
        "raw_reviews": AssetOut(description="Rows of one input file that passed row-level checks, as text."),
        "rejected_rows": AssetOut(description="Quarantined rows of one input file: line, column, reason, raw row."),
    },
    partitions_def=raw_files,
    check_specs=[schema_check_spec("raw_reviews"), schema_check_spec("rejected_rows")],
    group_name=INGEST,
)
def raw_reviews(context: AssetExecutionContext, storage: ObjectStore, settings: PipelineSettings):
    """Read one input file as UTF-8: a bad file stops the run, bad rows go to quarantine."""
    key = inbox_key(settings, context.partition_key)
    limits = InputLimits(int(settings.max_file_mb * 2**20), settings.max_item_chars, settings.max_field_chars)
    check_size(storage.size(key), context.partition_key, limits)  # before reading it into memory
    data = storage.read_bytes(key)
    parsed = parse_catalog_csv(data, context.partition_key, settings.fallback_encoding or None, limits)
    if parsed.fallback_lines:
        lines = parsed.fallback_lines
        context.log.warning(
            f"{key}: {len(lines)} lines are not UTF-8, read as {settings.fallback_encoding}: {lines[:20]}"
        )
    rows, rejected = parsed.rows, parsed.rejected
    total = len(rows) + rejected[["source_file", "source_line"]].drop_duplicates().shape[0]
    share = (total - len(rows)) / max(total, 1)
    if share > settings.max_rejected_share:
        raise Failure(
            f"{key}: {share:.1%} of {total:,} rows were quarantined, above the limit of "
            f"{settings.max_rejected_share:.0%}: is the export broken? First reasons: "
            + "; ".join(f"line {r.source_line} {r.column}: {r.reason}" for r in rejected.head(3).itertuples())
        )
    yield MaterializeResult(
        asset_key="raw_reviews",
        value=rows,
        metadata=table_metadata(rows, input_bytes=len(data), file=key),
        check_results=[schema_check_result("raw_reviews", rows)],
    )
    yield MaterializeResult(
        asset_key="rejected_rows",
        value=rejected,
        metadata=table_metadata(
            rejected,
            rejected_share=float(share),
            reasons=share_table(rejected["reason"].value_counts(), "reason"),
            reason_counts=MetadataValue.json(reason_counts(rejected)),
        ),
        check_results=[schema_check_result("rejected_rows", rejected)],
    )


@asset(partitions_def=raw_files, group_name=INGEST, check_specs=[schema_check_spec("file_suppressions")])
def file_suppressions():
    """The addresses and customers one input file suppresses: none in the Kaggle export, the one format read so far."""
    table = empty_table(SUPPRESSION_COLUMNS)
    return MaterializeResult(value=table, check_results=[schema_check_result("file_suppressions", table)])


def reason_counts(rejected: pd.DataFrame) -> dict[str, int]:
    """{reason: quarantined rows}, most frequent first (ties by reason)."""
    counts = rejected.groupby("reason").size().sort_index().sort_values(ascending=False, kind="stable")
    return {str(reason): int(count) for reason, count in counts.items()}


def combined_raw_rows(context: AssetExecutionContext, raw_reviews: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every raw partition, oldest file first, so that the latest file's version of a row wins."""
    order = context.instance.get_dynamic_partitions(raw_files.name)
    frames = [raw_reviews[key] for key in order if key in raw_reviews]
    if not frames:
        raise Failure("no input file has been read yet: drop a catalog CSV in the inbox")
    return pd.concat(frames, ignore_index=True)


@asset(group_name=INGEST, check_specs=[schema_check_spec("products")], automation_condition=EAGER_OVER_FILES)
def products(context: AssetExecutionContext, raw_reviews: dict[str, pd.DataFrame]):
    """One row per product: parsed prices, discount, rating and category path."""
    raw = combined_raw_rows(context, raw_reviews)
    table = build_products(raw)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["product_id", "product_name", "top_category", "discounted_price", "rating"]],
            duplicate_rows_merged=len(raw) - len(table),
            top_categories=share_table(table["top_category"].value_counts(), "top category"),
        ),
        check_results=[schema_check_result("products", table)],
    )


@asset(group_name=INGEST, check_specs=[schema_check_spec("reviews")], automation_condition=EAGER_OVER_FILES)
def reviews(context: AssetExecutionContext, raw_reviews: dict[str, pd.DataFrame]):
    """One row per (customer, product) review, split from the comma-joined reviewer lists."""
    table = explode_reviews(combined_raw_rows(context, raw_reviews))
    aligned = int(table["text_aligned"].sum())
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["user_id", "product_id", "review_title", "text_aligned"]],
            text_aligned_rows=aligned,
            text_fallback_rows=len(table) - aligned,
            text_aligned_share=aligned / max(len(table), 1),
            reviews_without_name=int((table["user_name"] == "").sum()),
        ),
        check_results=[schema_check_result("reviews", table)],
    )


@asset(group_name=INGEST, check_specs=[schema_check_spec("users")], automation_condition=EAGER_OVER_FILES)
def users(
    context: AssetExecutionContext,
    reviews: pd.DataFrame,
    products: pd.DataFrame,
    raw_reviews: dict[str, pd.DataFrame],
):
    """One row per customer: name, review count and favourite top-level category."""
    table = build_users(reviews, products, combined_raw_rows(context, raw_reviews))
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            users_with_one_review=int((table["review_count"] == 1).sum()),
            favourite_categories=share_table(table["favourite_category"].value_counts(), "favourite category"),
        ),
        check_results=[schema_check_result("users", table)],
    )
