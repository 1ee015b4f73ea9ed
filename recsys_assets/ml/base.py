"""The model protocol: what `recsys evaluate` scores (`Scorer`) and what the resource serves (`RecommenderModel`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from recsys_assets.ml.encoding import TrainingData

# The files `RecommenderModel.save` writes into its folder.
ARRAYS_FILE = "arrays.npz"
PARAMS_FILE = "params.json"


class Scorer(Protocol):
    """Dense scores (rows x items) for rows of the data a model was bound to; reviewed items are
    left out of the lists unless the scorer says `recommends_seen`."""

    def scores(self, rows: np.ndarray) -> np.ndarray: ...


class RecommenderModel(ABC):
    """A model that is fitted, scored, served and stored: the recommender resource's and `recsys evaluate`'s."""

    params_type: ClassVar[type]

    @classmethod
    @abstractmethod
    def fit(cls, data: TrainingData, params: Any) -> RecommenderModel:
        """Learn from `data.learning_part` (`params`: an instance of `params_type`)."""

    @abstractmethod
    def scorer(self, data: TrainingData) -> Scorer:
        """Scores for rows of `data` (the data it was fitted on), from their histories in it."""

    @abstractmethod
    def recommend(self, interactions: pd.DataFrame, user_ids: Any, num_results: int = 5) -> pd.DataFrame:
        """The served table (`serving.RECOMMENDATION_COLUMNS`) for `user_ids`, from their `interactions`."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the model as open files (npz without pickle + params json)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> RecommenderModel:
        """Read a model written by `save`."""


def fit_scorer(model: type[RecommenderModel], data: TrainingData, **params: Any) -> Scorer:
    """Fit `model` with `params` (fields of its `params_type`) and score the rows of `data`."""
    return model.fit(data, model.params_type(**params)).scorer(data)


@dataclass(frozen=True)
class ModelSpec:
    """A named model: its fit function, default parameters, the grid tuned on validation users and its served class."""

    fit: Callable[..., Scorer]
    params: dict = field(default_factory=dict)
    grid: tuple[dict, ...] = ()
    model: type[RecommenderModel] | None = None

    @classmethod
    def served(cls, model: type[RecommenderModel], grid: tuple[dict, ...] = ()) -> ModelSpec:
        """The spec of a served model: evaluated through the same class the recommender resource trains."""
        return cls(partial(fit_scorer, model), {}, grid, model)
