"""Customer segments: the unit marketing re-runs recommendations and emails by."""

import pandas as pd
from dagster import AutomationCondition, MaterializeResult, MetadataValue, asset

from recsys_assets.assets.checks import schema_check_result, schema_check_spec
from recsys_assets.assets.metadata import share_table, table_metadata
from recsys_assets.resources.profiles import ProfileStore
from recsys_assets.resources.settings import PipelineSettings
from recsys_assets.segments import assign_segments

SEGMENT_NAMES = "segment_names"


@asset(group_name="marketing", check_specs=[schema_check_spec("customer_segments")], automation_condition=AutomationCondition.eager())
def customer_segments(users: pd.DataFrame, settings: PipelineSettings, profiles: ProfileStore):
    """Each customer's segment: the top-level category they review most, or `general` with little history.

    Customers no longer in the data lose their served recommendations here, where the newest
    segmentation is known (a segment run may still be working from the previous one).
    """
    table = assign_segments(users, min_reviews=settings.segment_min_reviews)
    check = schema_check_result("customer_segments", table)
    if check.passed:
        profiles.keep_only("recommendations", "user_id", table["user_id"])
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            segments=int(table["segment"].nunique()),
            segment_sizes=share_table(table["segment"].value_counts(), "segment"),
            **{SEGMENT_NAMES: MetadataValue.json(sorted(table["segment"].unique().tolist()))},
        ),
        check_results=[check],
    )
