"""The one place that decides the environment: which implementation plays each role, and where."""

from __future__ import annotations

import os
from dataclasses import dataclass

from recsys_assets.resources.email_writer import TemplateEmailWriter
from recsys_assets.resources.io_manager import AssetStoreIOManager
from recsys_assets.resources.profiles import SqliteProfileStore
from recsys_assets.resources.recommender import LocalRecommender
from recsys_assets.resources.sentiment import VaderSentimentAnalyzer
from recsys_assets.resources.settings import PipelineSettings
from recsys_assets.resources.storage import LocalObjectStore

DEFAULT_HOME = ".recsys"
DEFAULT_INPUT = "data/sample.csv"


@dataclass(frozen=True)
class RunOptions:
    """What a run is pointed at; read from RECSYS_* variables or given by the command line."""

    home: str = DEFAULT_HOME
    input_location: str = DEFAULT_INPUT
    num_results: int = 5
    sentiment_workers: int = 0

    @classmethod
    def from_environment(cls) -> "RunOptions":
        env = os.environ
        return cls(
            home=env.get("RECSYS_HOME", DEFAULT_HOME),
            input_location=env.get("RECSYS_INPUT", DEFAULT_INPUT),
            num_results=int(env.get("RECSYS_NUM_RESULTS", "5")),
            sentiment_workers=int(env.get("RECSYS_SENTIMENT_WORKERS", "0")),
        )


def build_resources(options: RunOptions) -> dict:
    """The resources for one run: the embedded (local) implementation of every role."""
    storage = LocalObjectStore(root=options.home)
    return {
        "storage": storage,
        "io_manager": AssetStoreIOManager(store=storage),
        "profiles": SqliteProfileStore(path=os.path.join(options.home, "profiles.sqlite")),
        "sentiment": VaderSentimentAnalyzer(workers=options.sentiment_workers),
        "recommender_model": LocalRecommender(),
        "email_writer": TemplateEmailWriter(),
        # a local input path is relative to where the command runs, not to the output folder
        "settings": PipelineSettings(input_location=os.path.abspath(options.input_location), num_results=options.num_results),
    }
