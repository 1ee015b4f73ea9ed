"""Ingest: the raw export becomes products, users and reviews, with a quarantine for bad rows."""

import pandas as pd
from dagster import AssetExecutionContext, AssetOut, Failure, MaterializeResult, asset, multi_asset

from recsys_assets.assets.metadata import share_table, table_metadata
from recsys_assets.catalog import InputFileError, build_products, build_users, concat_rejected, explode_reviews, parse_catalog_csv
from recsys_assets.resources.profiles import ProfileStore
from recsys_assets.resources.settings import PipelineSettings
from recsys_assets.resources.storage import ObjectStore

GROUP = "ingest"


def input_keys(storage: ObjectStore, settings: PipelineSettings) -> list[str]:
    """The CSV files at the input location; none is a clear error."""
    keys = [key for key in storage.list_keys(settings.input_location) if key.lower().endswith(".csv")]
    if not keys:
        raise InputFileError(settings.input_location, "no CSV file found there")
    return keys


@multi_asset(
    outs={
        "raw_reviews": AssetOut(description="Rows of the input catalog files that passed row-level checks, as text."),
        "rejected_rows": AssetOut(description="Quarantined input rows: file, line, column, reason and the raw row."),
    },
    group_name=GROUP,
)
def raw_reviews(context: AssetExecutionContext, storage: ObjectStore, settings: PipelineSettings):
    """Read every input file as UTF-8; bad files stop the run, bad rows go to quarantine."""
    parsed, sizes = [], []
    for key in input_keys(storage, settings):
        data = storage.read_bytes(key)
        if len(data) > settings.max_file_mb * 2**20:
            raise InputFileError(key, f"{len(data) / 2**20:,.0f} MB is above the limit of {settings.max_file_mb:,.0f} MB")
        parsed.append(parse_catalog_csv(data, key, settings.fallback_encoding or None))
        if parsed[-1].fallback_lines:
            lines = parsed[-1].fallback_lines
            context.log.warning(f"{key}: {len(lines)} lines are not UTF-8 and were read as {settings.fallback_encoding}: {lines[:20]}")
        sizes.append(len(data))
    rows = pd.concat([p.rows for p in parsed], ignore_index=True)
    rejected = concat_rejected([p.rejected for p in parsed])
    total = len(rows) + rejected[["source_file", "source_line"]].drop_duplicates().shape[0]
    share = (total - len(rows)) / max(total, 1)
    if share > settings.max_rejected_share:
        raise Failure(
            f"{share:.1%} of {total:,} input rows were quarantined, above the limit of "
            f"{settings.max_rejected_share:.0%}: is the export broken? First reasons: "
            + "; ".join(f"{r.source_file} line {r.source_line} {r.column}: {r.reason}" for r in rejected.head(3).itertuples())
        )
    yield MaterializeResult(
        asset_key="raw_reviews",
        value=rows,
        metadata=table_metadata(rows, files=len(parsed), input_bytes=sum(sizes)),
    )
    yield MaterializeResult(
        asset_key="rejected_rows",
        value=rejected,
        metadata=table_metadata(
            rejected,
            rejected_share=float(share),
            reasons=share_table(rejected["reason"].value_counts(), "reason"),
        ),
    )


@asset(group_name=GROUP)
def products(raw_reviews: pd.DataFrame, profiles: ProfileStore) -> MaterializeResult:
    """One row per product: parsed prices, discount, rating and category path; also in the profile store."""
    table = build_products(raw_reviews)
    profiles.replace_table("products", table.drop(columns=["about_product"]))
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["product_id", "product_name", "top_category", "discounted_price", "rating"]],
            duplicate_rows_merged=len(raw_reviews) - len(table),
            top_categories=share_table(table["top_category"].value_counts(), "top category"),
        ),
    )


@asset(group_name=GROUP)
def reviews(raw_reviews: pd.DataFrame) -> MaterializeResult:
    """One row per (customer, product) review, split from the comma-joined reviewer lists."""
    table = explode_reviews(raw_reviews)
    aligned = int(table["text_aligned"].sum())
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["user_id", "product_id", "review_title", "text_aligned"]],
            text_aligned_rows=aligned,
            text_fallback_rows=len(table) - aligned,
            text_aligned_share=aligned / max(len(table), 1),
        ),
    )


@asset(group_name=GROUP)
def users(reviews: pd.DataFrame, products: pd.DataFrame, raw_reviews: pd.DataFrame, profiles: ProfileStore) -> MaterializeResult:
    """One row per customer: name, review count and favourite top-level category; also in the profile store."""
    table = build_users(reviews, products, raw_reviews)
    profiles.replace_table("users", table)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            users_with_one_review=int((table["review_count"] == 1).sum()),
            favourite_categories=share_table(table["favourite_category"].value_counts(), "favourite category"),
        ),
    )
