"""The inbox sensor: each new or rewritten inbox file becomes a raw_files partition, read once."""

import json
import time

from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from recsys_assets.defs.ingest.assets import FILE_TABLES
from recsys_assets.defs.partitions import raw_files
from recsys_assets.resources.object_store import ObjectStore, StoredObject
from recsys_assets.resources.pipeline_settings import PipelineSettings

# CSV files, plain or gzip-compressed
INPUT_SUFFIXES = (".csv", ".csv.gz")
# What a new inbox file materializes: its tables, its quarantine, its reviews' sentiment.
FILE_ASSETS = (*FILE_TABLES, "rejected_rows", "file_sentiment")
RAW_ASSETS = [AssetKey(name) for name in FILE_ASSETS]


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
    handled, waiting = cursor.get("handled", {}), cursor.get("waiting", {})
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


@sensor(
    name="inbox_sensor",
    asset_selection=RAW_ASSETS,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Each new or rewritten file in the inbox (none of the pipeline's own outputs, when the home is "
    "inside it) becomes a raw_files partition and is read once.",
)
def inbox_sensor(context: SensorEvaluationContext, storage: ObjectStore, settings: PipelineSettings):
    inbox = settings.input_location.rstrip("/")
    cursor = json.loads(context.cursor or "{}")
    objects = [o for o in storage.list_inputs(inbox) if o.key.lower().endswith(INPUT_SUFFIXES)]
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
