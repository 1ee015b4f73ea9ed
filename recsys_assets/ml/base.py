"""The registry of models by name: what `recsys evaluate` and the benchmarks compare."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from recsys_assets.ml.als import fit_als
from recsys_assets.ml.ease import fit_ease
from recsys_assets.ml.item_item import fit_hybrid
from recsys_assets.ml.neighbours import fit_content, fit_item_knn
from recsys_assets.ml.popularity import fit_popularity


class Scorer(Protocol):
    """A fitted model: dense scores (rows x items) for rows of the training matrix.

    Lists leave out the items a user already reviewed, unless the scorer says `recommends_seen`.
    """

    def scores(self, rows: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelSpec:
    """A named model: its fit function, default parameters and the grid tuned on validation users."""

    fit: Callable[..., Scorer]
    params: dict = field(default_factory=dict)
    grid: tuple[dict, ...] = ()


DEFAULT_MODEL = "hybrid"


MODELS: dict[str, ModelSpec] = {
    "popularity-count": ModelSpec(fit_popularity),
    "popularity-unseen": ModelSpec(fit_popularity, {"recommends_seen": False}),
    "item-knn": ModelSpec(fit_item_knn, {}, tuple({"neighbours": k} for k in (20, 50, 100, 200))),
    "als": ModelSpec(
        fit_als,
        {},
        tuple({"factors": f, "regularization": r} for f in (32, 64) for r in (1.0, 5.0, 20.0)),
    ),
    "ease": ModelSpec(fit_ease, {}, tuple({"regularization": r} for r in (10.0, 30.0, 100.0, 300.0, 1000.0))),
    "content": ModelSpec(
        fit_content,
        {},
        tuple({"neighbours": k, "same_leaf_category": leaf} for k in (20, 100) for leaf in (True, False)),
    ),
    "hybrid": ModelSpec(
        fit_hybrid,
        {},
        tuple({"content_weight": w, "decay": d} for w in (0.001, 0.003, 0.01, 0.1) for d in (1.0, 2.0)),
    ),
}
