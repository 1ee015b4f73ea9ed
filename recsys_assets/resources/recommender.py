"""Recommender: trains a "solution version" and produces top-N recommendations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict
from typing import Literal

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.ml import evaluation
from recsys_assets.ml.als import RecommenderParams, TrainedRecommender, recommend, train_recommender
from recsys_assets.ml.item_item import TrainedItemItem, recommend_item_item, train_item_item

LocalModel = TrainedRecommender | TrainedItemItem


class Recommender(ConfigurableResource, ABC):
    """Train on Personalize-format interactions, report offline metrics, recommend per user."""

    @abstractmethod
    def train(self, interactions: pd.DataFrame, items: pd.DataFrame) -> TrainedRecommender: ...

    @abstractmethod
    def offline_metrics(self, interactions: pd.DataFrame, items: pd.DataFrame) -> dict[str, dict[str, float]]:
        """{"model": metrics, "popularity-count": metrics, ...} under Personalize's protocol (more baselines may follow)."""

    @abstractmethod
    def recommend(
        self, model: TrainedRecommender, interactions: pd.DataFrame, user_ids: pd.Series, num_results: int
    ) -> pd.DataFrame: ...

    @abstractmethod
    def model_settings(self, model: TrainedRecommender) -> dict:
        """What the trained model was fitted with (JSON-ready; shown in the recommender asset's metadata)."""


class LocalRecommender(Recommender):
    """The item-item hybrid (EASE + item-kNN + content; the measured default) or implicit ALS,
    with a popularity fallback, trained in-process. The ALS fields apply to model="als" only."""

    model: Literal["item-item", "als"] = Field(
        default="item-item", description="item-item (see benchmarks/RESULTS.md) or als."
    )
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

    def train(self, interactions: pd.DataFrame, items: pd.DataFrame) -> LocalModel:
        if self.model == "item-item":
            return train_item_item(interactions, items)
        return train_recommender(interactions, items, self._params())

    def offline_metrics(self, interactions: pd.DataFrame, items: pd.DataFrame) -> dict[str, dict[str, float]]:
        return evaluation.evaluate(
            interactions,
            items,
            self._params(),
            seed=self.evaluation_seed,
            train=self.train,
            recommend_with=self._recommend,
        )

    def recommend(
        self, model: LocalModel, interactions: pd.DataFrame, user_ids: pd.Series, num_results: int
    ) -> pd.DataFrame:
        return self._recommend(model, interactions, user_ids, num_results)

    def model_settings(self, model: LocalModel) -> dict:
        """The model kind and its parameters, the validated ones (lambda, recency, transitions) included."""
        return {"model": self.model, **asdict(model.params)}

    @staticmethod
    def _recommend(
        model: LocalModel, interactions: pd.DataFrame, user_ids: pd.Series, num_results: int
    ) -> pd.DataFrame:
        """Each model kind with its own recommend rules."""
        recommend_with = recommend_item_item if isinstance(model, TrainedItemItem) else recommend
        return recommend_with(model, interactions, user_ids, num_results)
