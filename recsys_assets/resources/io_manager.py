"""IO manager: tables as Parquet, models as folders of open formats, all in the object store."""

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
from dagster import ConfigurableIOManager, InputContext, OutputContext, ResourceDependency

from recsys_assets.aws_formats.personalize_api import PersonalizeSolutionVersion
from recsys_assets.ml.base import RecommenderModel
from recsys_assets.ml.registry import load_model
from recsys_assets.resources.object_store import ObjectStore

TABLES_PREFIX = "assets"
# A quoted partition key longer than this is cut and ends in a digest, so that with a suffix and a temporary
# name it stays within file systems' 255-byte name limit; a cut name is longer than this, so no whole name equals it.
MAX_PARTITION_NAME_CHARS = 120
PARTITION_PREFIX_CHARS = 96


def table_key(asset_path: Sequence[str], partition: str | None = None) -> str:
    """Where an asset (or one partition of it) is stored, without the file suffix; the IO manager and the
    serving cleanup both use it. Distinct partitions get distinct keys of a bounded length."""
    parts = [TABLES_PREFIX, *asset_path]
    if partition is not None:
        parts.append(partition_name(partition))
    return "/".join(parts)


def partition_name(partition: str) -> str:
    """A partition key as one file name: quoted; past MAX_PARTITION_NAME_CHARS, its quoted start (never cutting
    a %XX escape) and a digest of the whole key."""
    quoted = quote(partition, safe="")
    if len(quoted) <= MAX_PARTITION_NAME_CHARS:
        return quoted
    start = quoted[:PARTITION_PREFIX_CHARS]
    start = start[: start.rfind("%")] if "%" in start[-2:] else start
    return f"{start}-{hashlib.sha256(partition.encode()).hexdigest()[:32]}"


class AssetStoreIOManager(ConfigurableIOManager):
    """DataFrames -> assets/<name>.parquet (a partition: assets/<name>/<partition>.parquet);
    a RecommenderModel (item-item, ALS) -> assets/<name>/ (npz + json); a PersonalizeSolutionVersion ->
    assets/<name>.json."""

    store: ResourceDependency[ObjectStore]

    def _key(self, context: OutputContext | InputContext, partition: str | None = None) -> str:
        return table_key(context.asset_key.path, partition)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        key = self._key(context, context.partition_key if context.has_partition_key else None)
        if isinstance(obj, pd.DataFrame):
            self.store.write_parquet(f"{key}.parquet", obj)
        elif isinstance(obj, RecommenderModel):
            with tempfile.TemporaryDirectory() as folder:
                obj.save(Path(folder))
                files = {f"{key}/{p.name}": p.read_bytes() for p in sorted(Path(folder).iterdir())}
            self.store.replace_prefix(f"{key}/", files)
            self.store.delete([f"{key}.json"])
        elif isinstance(obj, PersonalizeSolutionVersion):
            self.store.write_bytes(f"{key}.json", obj.to_json())
            self.store.delete_others(f"{key}/", set())
        else:
            raise TypeError(f"{context.asset_key.to_user_string()}: cannot store a {type(obj).__name__}")

    def load_input(self, context: InputContext) -> Any:
        if context.has_asset_partitions:
            return self._load_partitions(context)
        key = self._key(context)
        if self.store.exists(f"{key}.parquet"):
            return self.store.read_parquet(f"{key}.parquet")
        if self.store.exists(f"{key}.json"):
            return PersonalizeSolutionVersion.from_json(self.store.read_bytes(f"{key}.json"))
        with tempfile.TemporaryDirectory() as folder:
            for file_key in self.store.list_keys(f"{key}/"):
                (Path(folder) / Path(file_key).name).write_bytes(self.store.read_bytes(file_key))
            return load_model(Path(folder))

    def _load_partitions(self, context: InputContext) -> pd.DataFrame | dict[str, pd.DataFrame]:
        """One partition for a partitioned consumer; {partition: table} of those stored, otherwise."""
        if context.has_partition_key:
            return self.store.read_parquet(f"{self._key(context, context.asset_partition_key)}.parquet")
        tables = {}
        for partition in context.asset_partition_keys:
            key = f"{self._key(context, partition)}.parquet"
            if self.store.exists(key):
                tables[partition] = self.store.read_parquet(key)
            else:
                context.log.warning(f"{context.asset_key.to_user_string()} partition {partition!r} is not materialized")
        return tables
