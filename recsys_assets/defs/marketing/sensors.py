"""The segment sensor: the segments partitions follow the newest customer_segments (new ones added, departed
ones deleted; current_customers_served deletes a departed segment's outputs)."""

import json

from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from recsys_assets.defs.automation import latest_materialization
from recsys_assets.defs.marketing.assets import SEGMENT_NAMES
from recsys_assets.defs.partitions import segments

SEGMENT_ASSETS = [AssetKey("recommendations"), AssetKey("emails")]


@sensor(
    name="segment_sensor",
    asset_selection=SEGMENT_ASSETS,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds new customer segments as partitions and deletes those that no longer exist.",
)
def segment_sensor(context: SensorEvaluationContext):
    cursor = json.loads(context.cursor or "{}")
    event = latest_materialization(context, "customer_segments")
    if event is None or event.storage_id <= cursor.get("after", 0):
        return SkipReason("no new customer_segments materialization")
    current = set(event.asset_materialization.metadata[SEGMENT_NAMES].value)
    known = set(context.instance.get_dynamic_partitions(segments.name))
    departed = sorted(known - current)
    if departed:
        context.log.warning(f"segments with no customers any more: {departed}; their partitions are deleted")
    return SensorResult(
        dynamic_partitions_requests=[
            AddDynamicPartitionsRequest(segments.name, sorted(current - known)),
            DeleteDynamicPartitionsRequest(segments.name, departed),
        ],
        cursor=json.dumps({"after": event.storage_id}),
    )
