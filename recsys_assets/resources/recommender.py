"""Recommender: trains a "solution version" and produces top-N recommendations."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets import evaluation
from recsys_assets.recommender import RecommenderParams, TrainedRecommender, recommend, train_recommender


class Recommender(ConfigurableResource, ABC):
    """Train on Personalize-format interactions, report offline metrics, recommend per user."""

    @abstractmethod
    def train(self, interactions: pd.DataFrame, items: pd.DataFrame) -> TrainedRecommender: ...

    @abstractmethod
    def offline_metrics(self, interactions: pd.DataFrame, items: pd.DataFrame) -> dict[str, dict[str, float]]:
        """{"model": metrics, "popularity-count": metrics} under Personalize's protocol."""

    @abstractmethod
    def recommend(
        self, model: TrainedRecommender, interactions: pd.DataFrame, user_ids: pd.Series, num_results: int
    ) -> pd.DataFrame: ...


class LocalRecommender(Recommender):
    """implicit ALS with a popularity fallback, trained in-process."""

    factors: int = Field(default=RecommenderParams.factors, description="Latent factors.")
    regularization: float = Field(default=RecommenderParams.regularization)
    alpha: float = Field(default=RecommenderParams.alpha, description="Confidence scaling of event values.")
    iterations: int = Field(default=RecommenderParams.iterations)
    random_state: int = Field(default=RecommenderParams.random_state)
    evaluation_seed: int = Field(default=0, description="Seed of the held-out user split.")

    def _params(self) -> RecommenderParams:
        return RecommenderParams(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.random_state,
        )

    def train(self, interactions: pd.DataFrame, items: pd.DataFrame) -> TrainedRecommender:
        return train_recommender(interactions, items, self._params())

    def offline_metrics(self, interactions: pd.DataFrame, items: pd.DataFrame) -> dict[str, dict[str, float]]:
        return evaluation.evaluate(interactions, items, self._params(), seed=self.evaluation_seed)

    def recommend(
        self, model: TrainedRecommender, interactions: pd.DataFrame, user_ids: pd.Series, num_results: int
    ) -> pd.DataFrame:
        return recommend(model, interactions, user_ids, num_results)
