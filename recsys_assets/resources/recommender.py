"""Recommender: trains a "solution version" and produces top-N recommendations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, fields
from typing import Any, Literal

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.ml import evaluation
from recsys_assets.ml.als import RecommenderParams
from recsys_assets.ml.base import RecommenderModel
from recsys_assets.ml.encoding import training_data
from recsys_assets.ml.registry import DEFAULT_MODEL, MODELS

# The fields of LocalRecommender that set a model's parameters, where its params_type has them.
_MODEL_FIELDS = ("factors", "regularization", "alpha", "iterations", "random_state")


class Recommender(ConfigurableResource, ABC):
    """Train on Personalize-format interactions, report offline metrics, recommend per user."""

    @abstractmethod
    def train(self, interactions: pd.DataFrame, items: pd.DataFrame) -> RecommenderModel: ...

    @abstractmethod
    def offline_metrics(self, interactions: pd.DataFrame, items: pd.DataFrame) -> dict[str, dict[str, float]]:
        """{"model": metrics, "popularity-count": metrics, ...} under Personalize's protocol."""

    @abstractmethod
    def recommend(
        self, model: RecommenderModel, interactions: pd.DataFrame, user_ids: pd.Series, num_results: int
    ) -> pd.DataFrame: ...

    @abstractmethod
    def model_settings(self, model: RecommenderModel) -> dict:
        """What the trained model was fitted with (JSON-ready; shown in the recommender asset's metadata)."""


class LocalRecommender(Recommender):
    """A model of `ml.registry.MODELS` that is served ("item-item", the measured default, or "als"), with the
    popularity fallback, trained in-process. The ALS fields apply to model="als" only."""

    model: Literal["item-item", "als"] = Field(
        default=DEFAULT_MODEL, description="item-item (see benchmarks/RESULTS.md) or als."
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
        params_type = self._model_class().params_type
        names = {f.name for f in fields(params_type)}
        return params_type(**{name: getattr(self, name) for name in _MODEL_FIELDS if name in names})

    def train(self, interactions: pd.DataFrame, items: pd.DataFrame) -> RecommenderModel:
        params = self._params()
        return self._model_class().fit(training_data(interactions, items, params.min_positive_value), params)

    def offline_metrics(self, interactions: pd.DataFrame, items: pd.DataFrame) -> dict[str, dict[str, float]]:
        return evaluation.evaluate(
            interactions, items, seed=self.evaluation_seed, train=self.train, recommend_with=self.recommend
        )

    def recommend(
        self, model: RecommenderModel, interactions: pd.DataFrame, user_ids: pd.Series, num_results: int
    ) -> pd.DataFrame:
        return model.recommend(interactions, user_ids, num_results)

    def model_settings(self, model: RecommenderModel) -> dict:
        """The model kind and its parameters, the validated ones (lambda, recency, transitions) included."""
        return {"model": self.model, **asdict(model.params)}
