"""The segment sensor: the segments partitions follow the newest customer_segments (new ones added, departed
ones deleted once no run of theirs is waiting or running; current_customers_served deletes their outputs)."""

import json

from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    DagsterRunStatus,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from recsys_assets.defs.automation import latest_materialization
from recsys_assets.defs.marketing.assets import SEGMENT_NAMES
from recsys_assets.defs.partitions import segments

ACTIVE_RUN_STATUSES = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]
CLEANUP_ASSETS = [AssetKey("current_customers_served")]


def segments_with_active_runs(context: SensorEvaluationContext, names: list[str]) -> set[str]:
    """The segments among `names` that a queued or running run is materializing."""
    return {
        name
        for name in names
        if context.instance.get_runs_count(RunsFilter(tags={"dagster/partition": name}, statuses=ACTIVE_RUN_STATUSES))
    }


@sensor(
    name="segment_sensor",
    asset_selection=CLEANUP_ASSETS,
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
    busy = segments_with_active_runs(context, sorted(known - current))
    departed = sorted(known - current - busy)
    if departed:
        context.log.warning(f"segments with no customers any more: {departed}; their partitions are deleted")
    if busy:  # a run still writing a departed segment's outputs: delete it on a later tick, then clear again
        context.log.info(f"departed segments waiting for their runs to end: {sorted(busy)}")
    deferred = cursor.get("deferred", False)
    return SensorResult(
        dynamic_partitions_requests=[
            AddDynamicPartitionsRequest(segments.name, sorted(current - known)),
            DeleteDynamicPartitionsRequest(segments.name, departed),
        ],
        run_requests=(
            [RunRequest(asset_selection=CLEANUP_ASSETS, run_key=f"cleared-after-runs:{event.storage_id}")]
            if deferred and not busy
            else []
        ),
        # the same customer_segments materialization is looked at again while a departed segment is busy
        cursor=json.dumps({"after": cursor.get("after", 0), "deferred": True} if busy else {"after": event.storage_id}),
    )
