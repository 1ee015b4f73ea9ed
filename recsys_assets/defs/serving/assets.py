"""Serving: what the pipeline publishes, each downstream of the checked table it publishes.

A table whose blocking schema check fails stops its run before these assets, so nothing unchecked
reaches the profile store or the exported CSVs.
"""

import io
from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, AssetSelection, AutomationCondition, MaterializeResult, MetadataValue, asset

from recsys_assets.defs.conventions import SERVING
from recsys_assets.defs.marketing.assets import SEGMENT_NAMES, email_folder, gallery_keys, inputs_manifest
from recsys_assets.defs.partitions import segments
from recsys_assets.emails.render import email_filename
from recsys_assets.resources.io_manager import table_key
from recsys_assets.resources.object_store import ObjectStore, neutralize_formulas
from recsys_assets.resources.profile_store import ProfileStore

RECOMMENDATIONS_CSV = "recommendations.csv"
RECOMMENDATIONS_CSV_COLUMNS = ("USER_ID", "RANK", "ITEM_ID", "SCORE")
EAGER = AutomationCondition.eager()
# the export follows the segment CSVs only: a new segmentation re-runs every segment, and the CSVs follow
AFTER_SEGMENT_CSVS = EAGER.ignore(AssetSelection.assets("customer_segments", "current_customers_served"))


def segment_csv(segment: str) -> str:
    """Where a segment's recommendations CSV is written."""
    return f"recommendations/{segment}.csv"


@asset(group_name=SERVING, automation_condition=EAGER)
def served_products(products: pd.DataFrame, profiles: ProfileStore) -> MaterializeResult:
    """The profile store's products table: the checked products, without the long description."""
    rows = profiles.replace_table("products", products.drop(columns=["about_product"]))
    return MaterializeResult(metadata={"dagster/row_count": rows})


@asset(group_name=SERVING, automation_condition=EAGER)
def served_users(users: pd.DataFrame, profiles: ProfileStore) -> MaterializeResult:
    """The profile store's users table: the checked users."""
    rows = profiles.replace_table("users", users)
    return MaterializeResult(metadata={"dagster/row_count": rows})


@asset(group_name=SERVING, partitions_def=segments, automation_condition=EAGER)
def served_recommendations(
    context: AssetExecutionContext,
    recommendations: pd.DataFrame,
    customer_segments: pd.DataFrame,
    profiles: ProfileStore,
) -> MaterializeResult:
    """The profile store's recommendations rows of one segment's customers: exactly the checked ones."""
    members = customer_segments.loc[customer_segments["segment"] == context.partition_key, "user_id"]
    table = recommendations.rename(columns={"USER_ID": "user_id", "RANK": "rank"})
    profiles.replace_rows("recommendations", table, "user_id", members)
    return MaterializeResult(metadata={"dagster/row_count": len(table), "segment_users": len(members)})


@asset(group_name=SERVING, partitions_def=segments, automation_condition=EAGER)
def segment_recommendations_csv(
    context: AssetExecutionContext, recommendations: pd.DataFrame, storage: ObjectStore
) -> MaterializeResult:
    """recommendations/<segment>.csv: USER_ID, RANK, ITEM_ID, SCORE, safe to open in a spreadsheet."""
    key = segment_csv(context.partition_key)
    storage.write_csv(key, recommendations[list(RECOMMENDATIONS_CSV_COLUMNS)], for_spreadsheets=True)
    return MaterializeResult(
        metadata={"dagster/row_count": len(recommendations), "csv": MetadataValue.path(storage.location(key))}
    )


def stored_segments(storage: ObjectStore) -> set[str]:
    """The segments that have outputs in storage: a recommendations CSV, email files or an email manifest."""
    return (
        {Path(key).stem for key in storage.list_keys("recommendations/")}
        | {key.split("/")[1] for key in storage.list_keys("emails/")}
        | {Path(key).stem for key in storage.list_keys("email_inputs/")}
    )


def segment_outputs(storage: ObjectStore, segment: str) -> list[str]:
    """Every key a segment's runs write: its CSV, emails and manifest, and its recommendations and emails partitions."""
    tables = [f"{table_key([asset], segment)}.parquet" for asset in ("recommendations", "emails")]
    return [segment_csv(segment), *storage.list_keys(email_folder(segment)), inputs_manifest(segment), *tables]


@asset(group_name=SERVING, automation_condition=EAGER)
def current_customers_served(
    context: AssetExecutionContext,
    customer_segments: pd.DataFrame,
    storage: ObjectStore,
    profiles: ProfileStore,
) -> MaterializeResult:
    """What is served matches the current segmentation: a segment that no longer exists loses its CSV,
    emails, manifest and partition tables; a customer who left a segment loses its email there and, gone
    from the data, their served recommendations (the segment's gallery stays until its next emails run)."""
    names = sorted(customer_segments["segment"].unique())
    departed = sorted(stored_segments(storage) - set(names))
    for name in departed:
        storage.delete(segment_outputs(storage, name))
    if departed:
        context.log.warning(f"segments with no customers any more: {departed}; their outputs are cleared")
    for name, members in customer_segments.groupby("segment")["user_id"]:
        folder = email_folder(name)
        storage.delete_others(
            folder, {*(folder + email_filename(members.astype("string"))), *gallery_keys(storage, name)}
        )
    kept = profiles.keep_only("recommendations", "user_id", customer_segments["user_id"])
    return MaterializeResult(
        metadata={
            SEGMENT_NAMES: MetadataValue.json(names),
            "cleared_segments": MetadataValue.json(departed),
            "served_recommendation_rows": kept,
        }
    )


def combined_recommendations(storage: ObjectStore, membership: pd.DataFrame) -> pd.DataFrame:
    """Every segment's recommendations CSV, each kept to the segment's current members (`membership`:
    user_id, segment), so a customer who changed segments appears once, in their current segment; a
    segment never served (no CSV yet) adds nothing."""
    parts = []
    for name, users in membership.groupby("segment")["user_id"]:
        if not storage.exists(segment_csv(name)):
            continue
        # the segment CSVs are spreadsheet-safe (written with for_spreadsheets=True), and so are their user ids
        written_ids = neutralize_formulas(pd.DataFrame({"USER_ID": users}))["USER_ID"]
        table = pd.read_csv(
            io.BytesIO(storage.read_bytes(segment_csv(name))),
            dtype={"USER_ID": str, "ITEM_ID": str},
            keep_default_na=False,
        )
        parts.append(table[table["USER_ID"].isin(written_ids)])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(RECOMMENDATIONS_CSV_COLUMNS))


@asset(
    group_name=SERVING,
    deps=[segment_recommendations_csv, current_customers_served],
    automation_condition=AFTER_SEGMENT_CSVS,
)
def recommendations_export(customer_segments: pd.DataFrame, storage: ObjectStore) -> MaterializeResult:
    """recommendations.csv: every current customer's recommendations, from their segment's CSV, by user and rank."""
    combined = combined_recommendations(storage, customer_segments)
    storage.write_csv(RECOMMENDATIONS_CSV, combined.sort_values(["USER_ID", "RANK"], kind="stable"))
    return MaterializeResult(
        metadata={"dagster/row_count": len(combined), "csv": MetadataValue.path(storage.location(RECOMMENDATIONS_CSV))}
    )
