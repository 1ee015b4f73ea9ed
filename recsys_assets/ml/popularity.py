"""Popularity: the most reviewed items, Personalize's popularity-count recipe and the served fallback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from recsys_assets.ml.base import RecommenderModel
from recsys_assets.ml.encoding import TrainingData
from recsys_assets.ml.serving import TrainedOnCatalog, recommend_with_fallback


@dataclass(frozen=True)
class PopularityScorer:
    """Every user gets the item popularity counts; `recommends_seen`: reviewed items stay in the lists."""

    popularity: np.ndarray
    recommends_seen: bool = False

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity.astype(np.float32), (len(rows), len(self.popularity))).copy()


@dataclass(frozen=True)
class PopularityParams:
    """`recommends_seen`: reviewed items stay in the lists (Personalize's popularity-count), else
    "popularity-unseen" (each user's reviewed items skipped)."""

    recommends_seen: bool = True
    min_positive_value: float = 0.0


@dataclass(eq=False)
class TrainedPopularity(TrainedOnCatalog, RecommenderModel):
    """The positive-review count of each item, served as the most popular items overall."""

    name: ClassVar[str] = "popularity"
    params_type: ClassVar[type] = PopularityParams

    user_ids: np.ndarray
    item_ids: np.ndarray
    item_popularity: np.ndarray
    item_categories: np.ndarray
    params: PopularityParams

    @classmethod
    def fit(cls, data: TrainingData, params: PopularityParams = PopularityParams()) -> TrainedPopularity:
        return cls(data.user_ids, data.item_ids, data.learning_part.popularity, data.item_category, params)

    def scorer(self, data: TrainingData) -> PopularityScorer:
        return PopularityScorer(self.item_popularity, self.params.recommends_seen)

    def recommend(
        self,
        interactions: pd.DataFrame,
        user_ids: pd.Series | np.ndarray | list[str],
        num_results: int = 5,
        buy_again_after_days: int | None = None,
    ) -> pd.DataFrame:
        """See `recommend_popular`."""
        return recommend_popular(
            self, interactions, user_ids, num_results, self.params.recommends_seen, buy_again_after_days
        )


def recommend_popular(
    model: TrainedOnCatalog,
    interactions: pd.DataFrame,
    user_ids: pd.Series | np.ndarray | list[str],
    num_results: int = 5,
    include_reviewed: bool = True,
    buy_again_after_days: int | None = None,
) -> pd.DataFrame:
    """The most popular items overall for everyone, reviewed ones included unless `include_reviewed=False`."""
    history = interactions if not include_reviewed else interactions.iloc[0:0]
    return recommend_with_fallback(model, history, user_ids, num_results, None, False, buy_again_after_days)
