"""The segment sensor: new customer segments become partitions; a segment that emptied is re-run to clear it."""

import json

from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
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
    description="Registers new customer segments as partitions; re-runs a segment that emptied, to clear it.",
)
def segment_sensor(context: SensorEvaluationContext):
    cursor = json.loads(context.cursor or "{}")
    event = latest_materialization(context, "customer_segments")
    if event is None or event.storage_id <= cursor.get("after", 0):
        return SkipReason("no new customer_segments materialization")
    current = set(event.asset_materialization.metadata[SEGMENT_NAMES].value)
    known = set(context.instance.get_dynamic_partitions(segments.name))
    # a segment that has customers again is cleared again when it empties
    cleared = set(cursor.get("cleared", [])) - current
    emptied = sorted(known - current - cleared)
    if emptied:
        context.log.warning(f"segments with no customers any more: {emptied}; their outputs are cleared")
    return SensorResult(
        run_requests=[
            RunRequest(
                partition_key=segment, asset_selection=SEGMENT_ASSETS, run_key=f"emptied:{segment}:{event.storage_id}"
            )
            for segment in emptied
        ],
        dynamic_partitions_requests=[AddDynamicPartitionsRequest(segments.name, sorted(current - known))],
        cursor=json.dumps({"after": event.storage_id, "cleared": sorted(cleared | set(emptied))}),
    )
