"""Sensors: new inbox files become raw partitions, new segments become partitions, enough new
interactions retrain the model. Everything else follows by declarative automation."""

import json
import time

from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    EventLogRecord,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from recsys_assets.defs.marketing.assets import SEGMENT_NAMES
from recsys_assets.defs.model.assets import TRAINED_INTERACTIONS
from recsys_assets.defs.partitions import raw_files, segments
from recsys_assets.resources.object_store import ObjectStore, StoredObject
from recsys_assets.resources.pipeline_settings import PipelineSettings

INPUT_SUFFIXES = (".csv",)
RAW_ASSETS = [AssetKey("raw_reviews"), AssetKey("rejected_rows"), AssetKey("file_sentiment")]
SEGMENT_ASSETS = [AssetKey("recommendations"), AssetKey("emails")]


def new_inbox_files(
    objects: list[StoredObject], cursor: dict, limit: int, now: float, settle_seconds: float
) -> tuple[list[tuple[StoredObject, int]], dict]:
    """Objects whose version is not the one last handled for their key (new, rewritten, or put back to an
    earlier version, whatever their modification time) and has been seen unchanged for `settle_seconds`,
    oldest first, at most `limit`, each with how many versions of its key were handled before; and the
    next cursor.

    The cursor keeps, for every key ever handled, the version last handled and that count ("handled"),
    and for keys waiting to settle, the version and when it was first seen ("waiting"); a version that
    changes waits anew, so a file still being written is not read.
    """
    handled, waiting = _handled_versions(objects, cursor), cursor.get("waiting", {})
    unhandled = [o for o in objects if handled.get(o.key, [None])[0] != o.version]
    seen = {o.key: waiting[o.key][1] if waiting.get(o.key, [None])[0] == o.version else now for o in unhandled}
    settled = [o for o in unhandled if now - seen[o.key] >= settle_seconds]
    fresh = [
        (o, handled[o.key][1] + 1 if o.key in handled else 0)
        for o in sorted(settled, key=lambda o: (o.modified, o.key))[:limit]
    ]
    taken = {o.key for o, _ in fresh}
    return fresh, {
        "handled": handled | {o.key: [o.version, count] for o, count in fresh},
        "waiting": {o.key: [o.version, seen[o.key]] for o in unhandled if o.key not in taken},
    }


def _handled_versions(objects: list[StoredObject], cursor: dict) -> dict[str, list]:
    """The cursor's handled versions; from the cursor of earlier releases (the newest modification time
    handled, "since", and the key:version handled at exactly that time, "seen"), the listed files it covers."""
    if "since" not in cursor:
        return cursor.get("handled", {})
    since, seen = cursor["since"], set(cursor.get("seen", []))
    return {
        o.key: [o.version, 0]
        for o in objects
        if o.modified < since or (o.modified == since and f"{o.key}:{o.version}" in seen)
    }


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
    objects = [o for o in storage.list_objects(inbox) if o.key.lower().endswith(INPUT_SUFFIXES)]
    fresh, cursor = new_inbox_files(
        objects, cursor, settings.max_files_per_tick, time.time(), settings.inbox_settle_seconds
    )
    if not fresh:
        waiting = f"; {len(cursor['waiting'])} waiting to settle" if cursor["waiting"] else ""
        return SensorResult(skip_reason=f"no new file in {inbox}{waiting}", cursor=json.dumps(cursor))
    partition_keys = [o.key[len(inbox) + 1 :] for o, _ in fresh]
    known = set(context.instance.get_dynamic_partitions(raw_files.name))
    return SensorResult(
        run_requests=[
            # the count tells apart a file put back to an earlier version (Dagster skips a run key it has seen),
            # and a tick evaluated again from the same cursor asks with the same keys
            RunRequest(partition_key=key, asset_selection=RAW_ASSETS, run_key=f"{key}:{o.version}:{count}")
            for key, (o, count) in zip(partition_keys, fresh)
        ],
        dynamic_partitions_requests=[
            AddDynamicPartitionsRequest(raw_files.name, [key for key in partition_keys if key not in known])
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
    cursor = json.loads(context.cursor or "{}")
    if isinstance(cursor, int):  # the cursor of earlier versions: the storage id alone
        cursor = {"after": cursor}
    event = latest_materialization(context, "customer_segments")
    if event is None or event.storage_id <= cursor.get("after", 0):
        return SkipReason("no new customer_segments materialization")
    current = set(event.asset_materialization.metadata[SEGMENT_NAMES].value)
    known = set(context.instance.get_dynamic_partitions(segments.name))
    cleared = (
        set(cursor.get("cleared", [])) - current
    )  # a segment that has customers again is cleared again when it empties
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
