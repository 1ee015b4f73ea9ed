"""Sensors: new inbox files become raw partitions, new segments become partitions, enough new
interactions retrain the model. Everything else follows by declarative automation."""

import json

from dagster import (
    AddDynamicPartitionsRequest,
    AssetSelection,
    AssetKey,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    EventLogRecord,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from recsys_assets.assets.partitions import raw_files, segments
from recsys_assets.assets.recommender import TRAINED_INTERACTIONS
from recsys_assets.assets.segments import SEGMENT_NAMES
from recsys_assets.resources.settings import PipelineSettings
from recsys_assets.resources.storage import ObjectStore, StoredObject

INPUT_SUFFIXES = (".csv",)
RAW_ASSETS = [AssetKey("raw_reviews"), AssetKey("rejected_rows"), AssetKey("file_sentiment")]
SEGMENT_ASSETS = [AssetKey("recommendations"), AssetKey("emails")]


def new_inbox_files(
    objects: list[StoredObject], cursor: dict, limit: int
) -> tuple[list[StoredObject], dict]:
    """Objects not seen before (new, or rewritten since), oldest first, at most `limit`; and the next cursor.

    The cursor holds the newest modification time handled and the versions handled at exactly that
    time, so a file written in the same second as the last one handled is not missed, and no file
    is handled twice.
    """
    since, seen = cursor.get("since", float("-inf")), set(cursor.get("seen", []))
    fresh = sorted(
        (o for o in objects if o.modified > since or (o.modified == since and f"{o.key}:{o.version}" not in seen)),
        key=lambda o: (o.modified, o.key),
    )[:limit]
    if not fresh:
        return [], cursor
    newest = fresh[-1].modified
    handled = {f"{o.key}:{o.version}" for o in fresh if o.modified == newest}
    return fresh, {"since": newest, "seen": sorted(handled | (seen if newest == since else set()))}


def latest_materialization(context: SensorEvaluationContext, asset: str) -> EventLogRecord | None:
    """The newest materialization record of an asset, or None."""
    records = context.instance.fetch_materializations(AssetKey(asset), limit=1).records
    return records[0] if records else None


@sensor(
    name="inbox_sensor",
    asset_selection=RAW_ASSETS,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Each new or rewritten file in the inbox becomes a raw_files partition and is read once.",
)
def inbox_sensor(context: SensorEvaluationContext, storage: ObjectStore, settings: PipelineSettings):
    inbox = settings.input_location.rstrip("/")
    cursor = json.loads(context.cursor or "{}")
    listed = storage.list_objects(inbox, modified_since=cursor.get("since"))
    objects = [o for o in listed if o.key.lower().endswith(INPUT_SUFFIXES)]
    fresh, cursor = new_inbox_files(objects, cursor, settings.max_files_per_tick)
    if not fresh:
        return SkipReason(f"no new file in {inbox}")
    partition_keys = [o.key[len(inbox) + 1 :] for o in fresh]
    known = set(context.instance.get_dynamic_partitions(raw_files.name))
    return SensorResult(
        run_requests=[
            RunRequest(partition_key=key, asset_selection=RAW_ASSETS, run_key=f"{key}:{o.version}")
            for key, o in zip(partition_keys, fresh)
        ],
        dynamic_partitions_requests=[
            AddDynamicPartitionsRequest(raw_files.name, sorted(set(partition_keys) - known))
        ],
        cursor=json.dumps(cursor),
    )


@sensor(
    name="segment_sensor",
    asset_selection=SEGMENT_ASSETS,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Registers new customer segments as partitions; re-runs a segment that emptied, to clear it.",
)
def segment_sensor(context: SensorEvaluationContext):
    event = latest_materialization(context, "customer_segments")
    if event is None or event.storage_id <= int(context.cursor or 0):
        return SkipReason("no new customer_segments materialization")
    current = set(event.asset_materialization.metadata[SEGMENT_NAMES].value)
    known = set(context.instance.get_dynamic_partitions(segments.name))
    emptied = sorted(known - current)
    if emptied:
        context.log.warning(f"segments with no customers any more: {emptied}; their outputs are cleared")
    return SensorResult(
        run_requests=[
            RunRequest(partition_key=segment, asset_selection=SEGMENT_ASSETS, run_key=f"emptied:{segment}:{event.storage_id}")
            for segment in emptied
        ],
        dynamic_partitions_requests=[AddDynamicPartitionsRequest(segments.name, sorted(current - known))],
        cursor=str(event.storage_id),
    )


@sensor(
    name="retrain_sensor",
    asset_selection=[AssetKey("recommender")],
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.RUNNING,
    description="Retrains the model when enough new interactions arrived since it was trained (besides the weekly cron).",
)
def retrain_sensor(context: SensorEvaluationContext, settings: PipelineSettings):
    interactions = latest_materialization(context, "interactions")
    model = latest_materialization(context, "recommender")
    if interactions is None or model is None:
        return SkipReason("the model or its interactions have not been materialized yet")
    now = int(interactions.asset_materialization.metadata["dagster/row_count"].value)
    trained = int(model.asset_materialization.metadata[TRAINED_INTERACTIONS].value)
    needed = max(settings.retrain_min_new_interactions, int(settings.retrain_new_share * trained))
    if now - trained < needed:
        return SkipReason(f"{now - trained:,} new interactions since training; retraining at {needed:,}")
    return RunRequest(asset_selection=[AssetKey("recommender")], run_key=f"retrain:{interactions.storage_id}")


automation_sensor = AutomationConditionSensorDefinition(
    "automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    description="Sentiment, interactions and segments follow new raw data; emails follow recommendations.",
)

all_sensors = [inbox_sensor, segment_sensor, retrain_sensor, automation_sensor]
