"""Ingest: each input file is read, whatever its format, into its tables (a raw_files partition); every file's
tables become products, reviews, events and users."""

from pathlib import Path

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

from recsys_assets.catalog.combined import combine_events, combine_products, combine_reviews
from recsys_assets.catalog.reading import InputLimits, check_size, concat_rejected
from recsys_assets.catalog.tables import build_users
from recsys_assets.defs.automation import EAGER_OVER_FILES
from recsys_assets.defs.checks import schema_check_result, schema_check_spec
from recsys_assets.defs.conventions import INGEST
from recsys_assets.defs.metadata import share_table, table_metadata
from recsys_assets.defs.partitions import raw_files
from recsys_assets.formats.mapping import ColumnMapping, load_mapping
from recsys_assets.formats.reading import read_input
from recsys_assets.formats.tables import FileTables, ReadOptions
from recsys_assets.resources.object_store import ObjectStore
from recsys_assets.resources.pipeline_settings import PipelineSettings

# asset -> the FileTables field it holds, with the asset's description
FILE_TABLES = {
    "file_products": ("products", "The products one input file describes (formats.tables.PRODUCT_COLUMNS)."),
    "file_customers": ("customers", "The customers one input file describes: name, address, consent, country, ..."),
    "file_events": ("events", "One input file's purchases, add-to-carts, views, ...: every event but reviews."),
    "file_reviews": ("reviews", "One input file's reviews, one per (customer, product)."),
    "file_suppressions": ("suppressions", "The addresses and customers one input file says never to write to."),
}


def inbox_key(settings: PipelineSettings, file_key: str) -> str:
    """Where an input file (a raw_files partition) is, in the object store."""
    return f"{settings.input_location.rstrip('/')}/{file_key}"


def column_mapping(settings: PipelineSettings) -> ColumnMapping:
    """The column-mapping file the settings name (none: an empty mapping); one that cannot be read or parsed
    stops the run, naming it."""
    if not settings.column_mapping:
        return ColumnMapping()
    try:
        text = Path(settings.column_mapping).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise Failure(f"{settings.column_mapping}: the column mapping cannot be read ({error})") from None
    return load_mapping(text, settings.column_mapping)


def kept_lines(tables: FileTables) -> int:
    """How many of a file's lines became rows: the distinct lines of its events, reviews and suppressions; for a
    file of items or users (whose tables have no line numbers), its product or customer rows."""
    lines = pd.concat([tables.events, tables.reviews, tables.suppressions])["source_line"].nunique()
    return lines or max(len(tables.products), len(tables.customers))


@multi_asset(
    outs={
        **{name: AssetOut(description=description) for name, (_, description) in FILE_TABLES.items()},
        "rejected_rows": AssetOut(description="Quarantined rows of one input file: line, column, reason, raw row."),
    },
    partitions_def=raw_files,
    check_specs=[schema_check_spec(name) for name in [*FILE_TABLES, "rejected_rows"]],
    group_name=INGEST,
)
def file_tables(context: AssetExecutionContext, storage: ObjectStore, settings: PipelineSettings):
    """Read one input file in its format: a bad file stops the run, bad rows go to quarantine."""
    key = inbox_key(settings, context.partition_key)
    limits = InputLimits(int(settings.max_file_mb * 2**20), settings.max_item_chars, settings.max_field_chars)
    check_size(storage.size(key), context.partition_key, limits)  # before reading it into memory
    data = storage.read_bytes(key)
    mapping = column_mapping(settings).for_file(context.partition_key)
    options = ReadOptions(fallback_encoding=settings.fallback_encoding or None, limits=limits)
    tables = read_input(data, context.partition_key, settings.input_format, mapping, options)
    if tables.fallback_lines:
        lines = tables.fallback_lines
        context.log.warning(
            f"{key}: {len(lines)} lines are not UTF-8, read as {settings.fallback_encoding}: {lines[:20]}"
        )
    rejected = concat_rejected([] if tables.rejected is None else [tables.rejected])
    quarantined = rejected[["source_file", "source_line"]].drop_duplicates().shape[0]
    total = kept_lines(tables) + quarantined
    share = quarantined / max(total, 1)
    if share > settings.max_rejected_share:
        raise Failure(
            f"{key}: {share:.1%} of {total:,} rows were quarantined, above the limit of "
            f"{settings.max_rejected_share:.0%}: is the export broken? First reasons: "
            + "; ".join(f"line {r.source_line} {r.column}: {r.reason}" for r in rejected.head(3).itertuples())
        )
    for name, (field, _) in FILE_TABLES.items():
        table = getattr(tables, field)
        yield MaterializeResult(
            asset_key=name,
            value=table,
            metadata=table_metadata(table, file=key, format=tables.format, input_bytes=len(data)),
            check_results=[schema_check_result(name, table)],
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


def reason_counts(rejected: pd.DataFrame) -> dict[str, int]:
    """{reason: quarantined rows}, most frequent first (ties by reason)."""
    counts = rejected.groupby("reason").size().sort_index().sort_values(ascending=False, kind="stable")
    return {str(reason): int(count) for reason, count in counts.items()}


def in_file_order(context: AssetExecutionContext, per_file: dict[str, pd.DataFrame]) -> list[pd.DataFrame]:
    """Every file's table, oldest file first, so that the latest file's version of a row wins."""
    order = context.instance.get_dynamic_partitions(raw_files.name)
    frames = [per_file[key] for key in order if key in per_file]
    if not frames:
        raise Failure("no input file has been read yet: drop a catalog, users or orders file in the inbox")
    return frames


@asset(group_name=INGEST, check_specs=[schema_check_spec("products")], automation_condition=EAGER_OVER_FILES)
def products(context: AssetExecutionContext, file_products: dict[str, pd.DataFrame]):
    """One row per product: name, category levels, brand, prices in their currency, rating, links."""
    frames = in_file_order(context, file_products)
    table = combine_products(frames)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["product_id", "product_name", "top_category", "discounted_price", "currency", "rating"]],
            duplicate_rows_merged=sum(len(frame) for frame in frames) - len(table),
            top_categories=share_table(table["top_category"].value_counts(), "top category"),
            currencies=share_table(table["currency"].value_counts(), "currency"),
            unrated_products=int(table["rating"].isna().sum()),
        ),
        check_results=[schema_check_result("products", table)],
    )


@asset(group_name=INGEST, check_specs=[schema_check_spec("reviews")], automation_condition=EAGER_OVER_FILES)
def reviews(context: AssetExecutionContext, file_reviews: dict[str, pd.DataFrame]):
    """One row per (customer, product) review, from every file that has reviews."""
    table = combine_reviews(in_file_order(context, file_reviews))
    aligned = int(table["text_aligned"].sum())
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["user_id", "product_id", "review_title", "text_aligned"]],
            text_aligned_rows=aligned,
            text_fallback_rows=len(table) - aligned,
            text_aligned_share=aligned / max(len(table), 1),
            reviews_without_name=int((table["user_name"].fillna("") == "").sum()),
        ),
        check_results=[schema_check_result("reviews", table)],
    )


@asset(group_name=INGEST, check_specs=[schema_check_spec("events")], automation_condition=EAGER_OVER_FILES)
def events(context: AssetExecutionContext, file_events: dict[str, pd.DataFrame]):
    """Every purchase, add-to-cart, view, ... of every file (anonymous ones count for popularity only)."""
    table = combine_events(in_file_order(context, file_events))
    anonymous = table["user_id"] == ""
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["user_id", "product_id", "timestamp", "event_type", "quantity"]],
            event_types=share_table(table["event_type"].value_counts(), "event type"),
            anonymous_events=int(anonymous.sum()),
            customers=int(table.loc[~anonymous, "user_id"].nunique()),
            products=int(table["product_id"].nunique()),
        ),
        check_results=[schema_check_result("events", table)],
    )


@asset(group_name=INGEST, check_specs=[schema_check_spec("users")], automation_condition=EAGER_OVER_FILES)
def users(
    context: AssetExecutionContext,
    reviews: pd.DataFrame,
    events: pd.DataFrame,
    products: pd.DataFrame,
    file_customers: dict[str, pd.DataFrame],
):
    """One row per customer with an interaction: name, address, consent, country, locale (the latest file's that
    gives one), interaction count and favourite top-level category."""
    customers = pd.concat(in_file_order(context, file_customers), ignore_index=True)
    table = build_users(reviews, events, customers, products)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            users_with_one_interaction=int((table["interaction_count"] == 1).sum()),
            users_with_an_address=int((table["email"] != "").sum()),
            consent=share_table(table["consent"].replace("", "not known").value_counts(), "consent"),
            favourite_categories=share_table(table["favourite_category"].value_counts(), "favourite category"),
        ),
        check_results=[schema_check_result("users", table)],
    )
