"""The model protocol: what `recsys evaluate` scores (`Scorer`) and what the resource serves (`RecommenderModel`)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_assets.files import atomic_file, write_atomic
from recsys_assets.ml.encoding import TrainingData, training_data

# The files `RecommenderModel.save` writes into its folder.
ARRAYS_FILE = "arrays.npz"
PARAMS_FILE = "params.json"


class Scorer(Protocol):
    """Dense scores (rows x items) for rows of the data a model was bound to; reviewed items are
    left out of the lists unless the scorer says `recommends_seen`."""

    def scores(self, rows: np.ndarray) -> np.ndarray: ...


class RecommenderModel(ABC):
    """A model that is fitted, scored, served and stored: the recommender resource's and `recsys evaluate`'s.

    Implementations are dataclasses of arrays (square CSR matrices allowed) plus `params`; `save`/`load`
    store those fields in their declared order, and `name` in the params file (see `registry.load_model`)."""

    name: ClassVar[str]
    params_type: ClassVar[type]

    @classmethod
    @abstractmethod
    def fit(cls, data: TrainingData, params: Any) -> RecommenderModel:
        """Learn from `data.learning_part` (`params`: an instance of `params_type`)."""

    @classmethod
    def train(cls, interactions: pd.DataFrame, items: pd.DataFrame, params: Any = None) -> RecommenderModel:
        """`fit` on the interactions' positive opinions; the item universe is the catalog plus reviewed items."""
        params = params if params is not None else cls.params_type()
        return cls.fit(training_data(interactions, items, params.min_positive_value), params)

    @abstractmethod
    def scorer(self, data: TrainingData) -> Scorer:
        """Scores for rows of `data` (the data it was fitted on), from their histories in it."""

    @abstractmethod
    def recommend(
        self, interactions: pd.DataFrame, user_ids: Any, num_results: int = 5, buy_again_after_days: int | None = None
    ) -> pd.DataFrame:
        """The served table (`serving.RECOMMENDATION_COLUMNS`) for `user_ids`, from their `interactions`: never an
        item they interacted with, but a purchase `buy_again_after_days` old or older (`serving.may_buy_again`)."""

    def save(self, directory: Path) -> None:
        """Write the model as open files: its arrays in ``arrays.npz`` (CSR matrices as data, indices and
        indptr) and ``params.json`` (``model`` = `name`, then the params), each whole or not at all."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        dense, sparse = {}, {}
        for name in (f.name for f in fields(self) if f.name != "params"):
            value = getattr(self, name)
            if sp.issparse(value):
                sparse.update({f"{name}_{part}": getattr(value, part) for part in ("data", "indices", "indptr")})
            else:
                dense[name] = value
        with atomic_file(directory / ARRAYS_FILE) as output:
            np.savez(output, **dense, **sparse)
        write_atomic(
            directory / PARAMS_FILE, json.dumps({"model": self.name, **asdict(self.params)}, indent=2).encode()
        )

    @classmethod
    def load(cls, directory: Path) -> RecommenderModel:
        """Read a model written by `save` (no pickle)."""
        directory = Path(directory)
        params = saved_params(directory)
        params.pop("model", None)
        values = {}
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
            for name in (f.name for f in fields(cls) if f.name != "params"):
                if name in arrays.files:
                    values[name] = arrays[name]
                    continue
                indptr = arrays[f"{name}_indptr"]
                shape = (len(indptr) - 1, len(indptr) - 1)
                values[name] = sp.csr_matrix((arrays[f"{name}_data"], arrays[f"{name}_indices"], indptr), shape=shape)
        return cls(**values, params=cls.params_from_json(params))

    @classmethod
    def params_from_json(cls, params: dict) -> Any:
        """The `params_type` instance of `save`'s params (without ``model``)."""
        return cls.params_type(**params)


def saved_params(directory: Path) -> dict:
    """The params file `RecommenderModel.save` wrote into `directory`."""
    return json.loads((Path(directory) / PARAMS_FILE).read_text())


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
    def served(
        cls, model: type[RecommenderModel], params: dict | None = None, grid: tuple[dict, ...] = ()
    ) -> ModelSpec:
        """The spec of a served model: evaluated through the same class the recommender resource trains."""
        return cls(partial(fit_scorer, model), dict(params or {}), grid, model)
