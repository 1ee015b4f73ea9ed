"""Popularity: the most reviewed items, Personalize's popularity-count recipe and the served fallback."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_assets.ml.encoding import TrainingData
from recsys_assets.ml.serving import TrainedOnCatalog, recommend_with_fallback


@dataclass(frozen=True)
class PopularityScorer:
    """Every user gets the item popularity counts; `recommends_seen`: reviewed items stay in the lists."""

    popularity: np.ndarray
    recommends_seen: bool = False

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity.astype(np.float32), (len(rows), len(self.popularity))).copy()


def fit_popularity(data: TrainingData, recommends_seen: bool = True) -> PopularityScorer:
    """Personalize's popularity-count: the most-reviewed items for everyone, reviewed ones included
    (`recommends_seen=False`: "popularity-unseen", each user's reviewed items skipped)."""
    return PopularityScorer(data.learning_part.popularity, recommends_seen)


def recommend_popular(
    model: TrainedOnCatalog,
    interactions: pd.DataFrame,
    user_ids: pd.Series | np.ndarray | list[str],
    num_results: int = 5,
    include_reviewed: bool = True,
) -> pd.DataFrame:
    """The most popular items overall for everyone, reviewed ones included unless `include_reviewed=False`."""
    history = interactions if not include_reviewed else interactions.iloc[0:0]
    return recommend_with_fallback(
        model, history, user_ids, num_results, model_picks=None, use_favourite_category=False
    )
