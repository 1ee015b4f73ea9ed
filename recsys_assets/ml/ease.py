"""EASE (Steck 2019) over the most popular items, optionally with an item-kNN tail."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_assets.ml.encoding import TrainingData, binarized
from recsys_assets.ml.item_weights import ItemWeightsScorer, TrainedItemWeights
from recsys_assets.ml.neighbours import cosine_neighbours


@dataclass(frozen=True)
class EaseParams:
    """Parameters of `fit_ease`."""

    regularization: float = 300.0
    max_items: int = 3000
    per_mean_count: bool = False
    tail_neighbours: int = 0
    tail_weight: float = 1.0
    min_positive_value: float = 0.0


@dataclass(eq=False)
class TrainedEase(TrainedItemWeights):
    """EASE, served."""

    name: ClassVar[str] = "ease"
    params_type: ClassVar[type] = EaseParams

    @classmethod
    def fit(cls, data: TrainingData, params: EaseParams = EaseParams()) -> TrainedEase:
        fitted = {name: value for name, value in asdict(params).items() if name != "min_positive_value"}
        return cls.of(data, fit_ease(data, **fitted), params)


def fit_ease(
    data: TrainingData,
    regularization: float = 300.0,
    max_items: int = 3000,
    per_mean_count: bool = False,
    tail_neighbours: int = 0,
    tail_weight: float = 1.0,
) -> ItemWeightsScorer:
    """EASE over the `max_items` most popular items; pairs outside them get `tail_weight` x item-kNN cosine
    (top `tail_neighbours` per item) when `tail_neighbours` > 0, else nothing."""
    learning = data.learning_part
    kept, weights = ease_weights(learning, regularization, max_items, per_mean_count)
    n_items = len(data.item_ids)
    others = sp.csr_matrix((n_items, n_items), dtype=np.float32)
    if tail_neighbours > 0 and len(kept) < np.count_nonzero(learning.popularity):
        neighbours = cosine_neighbours(sp.csr_matrix(binarized(learning.matrix).T), tail_neighbours).tocoo()
        in_kept = np.zeros(n_items, dtype=bool)
        in_kept[kept] = True
        outside = ~(in_kept[neighbours.row] & in_kept[neighbours.col])
        others = sp.csr_matrix(
            (tail_weight * neighbours.data[outside], (neighbours.row[outside], neighbours.col[outside])),
            shape=(n_items, n_items),
            dtype=np.float32,
        )
    return ItemWeightsScorer(binarized(data.matrix), kept, weights, others)


def most_popular_items(data: TrainingData, max_items: int) -> np.ndarray:
    """Codes (sorted) of the `max_items` most popular items with a positive opinion (ties: lower code)."""
    kept = np.sort(np.argsort(-data.popularity, kind="stable")[:max_items])
    return kept[data.popularity[kept] > 0]


def ease_from_gram(gram: np.ndarray, regularization: float) -> np.ndarray:
    """EASE (Steck 2019): B = I - P diagMat(1 / diag(P)), P = (G + lambda I)^-1, zero diagonal."""
    regularized = gram.astype(np.float64)
    regularized[np.diag_indices_from(regularized)] += regularization
    with threadpool_limits(limits=1, user_api="blas"):
        inverse = np.linalg.inv(regularized)
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return weights.astype(np.float32)


def ease_weights(
    data: TrainingData, regularization: float = 300.0, max_items: int = 3000, per_mean_count: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """EASE on binary X over the `max_items` most popular items: their codes and B over them
    (`per_mean_count`: lambda = regularization x their mean positive count)."""
    kept = most_popular_items(data, max_items)
    columns = binarized(data.matrix)[:, kept]
    gram = (columns.T @ columns).toarray()
    scale = float(np.diag(gram).mean()) if per_mean_count and len(kept) else 1.0
    return kept, ease_from_gram(gram, regularization * scale)
