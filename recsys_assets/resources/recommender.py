"""Recommender: trains a "solution version" and produces top-N recommendations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict
from typing import Any, Literal

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.ml import evaluation
from recsys_assets.ml.als import RecommenderParams
from recsys_assets.ml.base import RecommenderModel
from recsys_assets.ml.encoding import training_data
from recsys_assets.ml.registry import DEFAULT_MODEL, MODELS

# The fields of LocalRecommender that set the ALS model's parameters.
_ALS_FIELDS = ("factors", "regularization", "alpha", "iterations", "random_state")

# The names of `ml.registry.MODELS` (a test checks they are the same).
ModelName = Literal["popularity-count", "popularity-unseen", "item-knn", "als", "ease", "content", "item-item"]


class Recommender(ConfigurableResource, ABC):
    """Train on Personalize-format interactions, report offline metrics, recommend per user."""

    @abstractmethod
    def train(self, interactions: pd.DataFrame, items: pd.DataFrame) -> RecommenderModel: ...

    @abstractmethod
    def offline_metrics(self, interactions: pd.DataFrame, items: pd.DataFrame) -> dict[str, dict[str, float]]:
        """{"model": metrics, "popularity-count": metrics, ...} under Personalize's protocol."""

    @abstractmethod
    def recommend(
        self,
        model: RecommenderModel,
        interactions: pd.DataFrame,
        user_ids: pd.Series,
        num_results: int,
        buy_again_after_days: int | None = None,
    ) -> pd.DataFrame:
        """Top `num_results` per user, none they interacted with but purchases `buy_again_after_days` old."""

    @abstractmethod
    def model_settings(self, model: RecommenderModel) -> dict:
        """What the trained model was fitted with (JSON-ready; shown in the recommender_model asset's metadata)."""


class LocalRecommender(Recommender):
    """A model of `ml.registry.MODELS` by name ("item-item", the measured default, or any other), served with
    the popularity fallback, trained in-process. The ALS fields apply to model="als" only."""

    model: ModelName = Field(
        default=DEFAULT_MODEL, description="A model of ml.registry.MODELS; item-item (see benchmarks/RESULTS.md)."
    )
    factors: int = Field(default=RecommenderParams.factors, description="Latent factors.")
    regularization: float = Field(default=RecommenderParams.regularization)
    alpha: float = Field(default=RecommenderParams.alpha, description="Confidence scaling of event values.")
    iterations: int = Field(default=RecommenderParams.iterations)
    random_state: int = Field(default=RecommenderParams.random_state)
    evaluation_seed: int = Field(default=0, description="Seed of the held-out user split.")

    def _model_class(self) -> type[RecommenderModel]:
        return MODELS[self.model].model

    def _params(self) -> Any:
        """The registry's parameters of the model (the ALS fields for ALS)."""
        spec = MODELS[self.model]
        if spec.model.params_type is RecommenderParams:
            return RecommenderParams(**{name: getattr(self, name) for name in _ALS_FIELDS})
        return spec.model.params_type(**spec.params)

    def train(self, interactions: pd.DataFrame, items: pd.DataFrame) -> RecommenderModel:
        params = self._params()
        return self._model_class().fit(training_data(interactions, items, params.min_positive_value), params)

    def offline_metrics(self, interactions: pd.DataFrame, items: pd.DataFrame) -> dict[str, dict[str, float]]:
        return evaluation.evaluate(interactions, items, seed=self.evaluation_seed, train=self.train)

    def recommend(
        self,
        model: RecommenderModel,
        interactions: pd.DataFrame,
        user_ids: pd.Series,
        num_results: int,
        buy_again_after_days: int | None = None,
    ) -> pd.DataFrame:
        return model.recommend(interactions, user_ids, num_results, buy_again_after_days)

    def model_settings(self, model: RecommenderModel) -> dict:
        """The model kind and its parameters, the validated ones (lambda, recency, transitions) included."""
        return {"model": self.model, **asdict(model.params)}
