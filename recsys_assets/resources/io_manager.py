"""IO manager: tables as Parquet, models as folders of open formats, all in the object store."""

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import ConfigurableIOManager, InputContext, OutputContext, ResourceDependency

from recsys_assets.recommender import TrainedRecommender
from recsys_assets.resources.storage import ObjectStore


class AssetStoreIOManager(ConfigurableIOManager):
    """DataFrames -> assets/<name>.parquet; a TrainedRecommender -> assets/<name>/ (npz + json)."""

    store: ResourceDependency[ObjectStore]
    prefix: str = "assets"

    def _key(self, context: OutputContext | InputContext) -> str:
        return "/".join([self.prefix, *context.asset_key.path])

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        key = self._key(context)
        if isinstance(obj, pd.DataFrame):
            self.store.write_parquet(f"{key}.parquet", obj)
        elif isinstance(obj, TrainedRecommender):
            with tempfile.TemporaryDirectory() as folder:
                obj.save(Path(folder))
                files = {f"{key}/{p.name}": p.read_bytes() for p in sorted(Path(folder).iterdir())}
            self.store.replace_prefix(f"{key}/", files)
        else:
            raise TypeError(f"{context.asset_key.to_user_string()}: cannot store a {type(obj).__name__}")

    def load_input(self, context: InputContext) -> Any:
        key = self._key(context)
        if self.store.exists(f"{key}.parquet"):
            return self.store.read_parquet(f"{key}.parquet")
        with tempfile.TemporaryDirectory() as folder:
            for file_key in self.store.list_keys(f"{key}/"):
                (Path(folder) / Path(file_key).name).write_bytes(self.store.read_bytes(file_key))
            return TrainedRecommender.load(Path(folder))
