"""Implicit-feedback ALS, trained, stored and served with the popularity fallback (see docs/ml.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from recsys_assets.ml.base import RecommenderModel
from recsys_assets.ml.encoding import TrainingData, pair_matrix, rows_of
from recsys_assets.ml.serving import Picks, Request, TrainedOnCatalog, picks_in_chunks, recommend_with_fallback
from recsys_assets.ml.topk import SELECTION_BLOCK, best_per_row

# Upper bound on one users x items score buffer, in float32 cells (64 MiB).
_SCORE_BUFFER_CELLS = 16 * 1024 * 1024

# Users scored together by one thread.
_USERS_PER_CHUNK = 4096


@dataclass(frozen=True)
class RecommenderParams:
    """Hyper-parameters of the implicit ALS model (defaults: docs/ml.md)."""

    factors: int = 32
    regularization: float = 5.0
    alpha: float = 2.0
    iterations: int = 15
    random_state: int = 42
    min_positive_value: float = 0.0


@dataclass(eq=False)
class TrainedRecommender(TrainedOnCatalog, RecommenderModel):
    """ALS factors plus what the popularity fallback needs; rows follow the sorted id arrays."""

    name: ClassVar[str] = "als"
    params_type: ClassVar[type] = RecommenderParams

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    item_popularity: np.ndarray
    item_categories: np.ndarray
    params: RecommenderParams

    @classmethod
    def fit(cls, data: TrainingData, params: RecommenderParams = RecommenderParams()) -> TrainedRecommender:
        """Implicit ALS (confidence 1 + alpha x EVENT_VALUE) on the positive values of `data.learning_part`."""
        learning = data.learning_part
        with threadpool_limits(limits=1, user_api="blas"):
            als = AlternatingLeastSquares(
                factors=params.factors,
                regularization=params.regularization,
                alpha=params.alpha,
                iterations=params.iterations,
                random_state=params.random_state,
            )
            als.fit(learning.matrix, show_progress=False)
        return cls(
            user_ids=data.user_ids,
            item_ids=data.item_ids,
            user_factors=np.asarray(als.user_factors, dtype=np.float32),
            item_factors=np.asarray(als.item_factors, dtype=np.float32),
            item_popularity=learning.popularity,
            item_categories=data.item_category,
            params=params,
        )

    def scorer(self, data: TrainingData) -> FactorScorer:
        """user factors @ item factors.T; `data.history_only` users' factors are folded in from their values."""
        factors = self.user_factors.copy()
        if len(data.history_only):
            factors[data.history_only] = _fold_in(self, data.history_only, data.matrix[data.history_only])
        return FactorScorer(factors, self.item_factors)

    def recommend(
        self,
        interactions: pd.DataFrame,
        user_ids: pd.Series | np.ndarray | list[str],
        num_results: int = 5,
        buy_again_after_days: int | None = None,
    ) -> pd.DataFrame:
        """Top `num_results` unseen items per requested user (RECOMMENDATION_COLUMNS): ALS picks, then the fallback.

        SCORE is the ALS preference for 'als' rows and the positive-review count for 'popularity' (docs/ml.md)."""
        return recommend_with_fallback(
            self, interactions, user_ids, num_results, _als_picks, True, buy_again_after_days
        )


@dataclass(frozen=True)
class FactorScorer:
    """Scores = user factors @ item factors.T."""

    user_factors: np.ndarray
    item_factors: np.ndarray

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors[rows] @ self.item_factors.T


def _fold_in(model: TrainedRecommender, users: np.ndarray, values: sp.csr_matrix) -> np.ndarray:
    """Factors of `users` from their rows of positive `values`: ALS's user step against the trained item factors."""
    als = AlternatingLeastSquares(
        factors=model.item_factors.shape[1], regularization=model.params.regularization, alpha=model.params.alpha
    )
    als.item_factors = model.item_factors
    with threadpool_limits(limits=1, user_api="blas"):
        return als.recalculate_user(users, values)


@dataclass(frozen=True)
class _ItemsByNorm:
    """Scorable items by descending factor norm (ties: item code); `norms[c]` bounds every column from c on."""

    item: np.ndarray
    factors: np.ndarray
    norms: np.ndarray


def _items_by_norm(model: TrainedRecommender) -> _ItemsByNorm:
    """Order the scorable items for `_best_columns`."""
    scorable = np.flatnonzero(model.item_popularity > 0)
    norms = np.linalg.norm(model.item_factors[scorable], axis=1)
    order = np.lexsort((scorable, -norms))
    padded = -(-len(scorable) // SELECTION_BLOCK) * SELECTION_BLOCK
    factors = np.zeros((padded, model.item_factors.shape[1]), dtype=np.float32)
    factors[: len(scorable)] = model.item_factors[scorable[order]]
    return _ItemsByNorm(scorable[order], factors, np.r_[norms[order], np.zeros(padded + 1 - len(scorable))])


def _best_columns(
    user_factors: np.ndarray,
    items: _ItemsByNorm,
    seen_row: np.ndarray,
    seen_column: np.ndarray,
    n: int,
    first_block: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact n best unseen columns of `items` per user row, best first (ties: lower item code).

    Missing picks (fewer than n unseen items) have column -1 and score -inf; the early stop is in docs/ml.md."""
    rows, n_items = len(user_factors), len(items.item)
    best_columns = np.full((rows, n), -1)
    best_scores = np.full((rows, n), -np.inf, dtype=np.float32)
    user_norms = np.linalg.norm(user_factors, axis=1)
    active, start, block = np.arange(rows), 0, first_block
    while len(active) and start < n_items:
        cells_per_row = max(SELECTION_BLOCK, _SCORE_BUFFER_CELLS // len(active))
        block = min(block, cells_per_row // SELECTION_BLOCK * SELECTION_BLOCK)
        stop = min(start + block, len(items.factors))
        scores = user_factors[active] @ items.factors[start:stop].T
        scores[:, n_items - start :] = -np.inf
        row_position = np.full(rows, -1)
        row_position[active] = np.arange(len(active))
        in_block = (row_position[seen_row] >= 0) & (seen_column >= start) & (seen_column < stop)
        scores[row_position[seen_row[in_block]], seen_column[in_block] - start] = -np.inf
        columns, values = best_per_row(scores, min(n, stop - start))
        merged_columns = np.concatenate([best_columns[active], columns + start], axis=1)
        merged_scores = np.concatenate([best_scores[active], values], axis=1)
        keep = np.lexsort((items.item[merged_columns], -merged_scores), axis=1)[:, :n]
        best_columns[active] = np.take_along_axis(merged_columns, keep, axis=1)
        best_scores[active] = np.take_along_axis(merged_scores, keep, axis=1)
        active = active[best_scores[active, -1] <= user_norms[active] * items.norms[stop]]
        start, block = stop, block * 4
    return best_columns, best_scores


def _request_factors(model: TrainedRecommender, request: Request) -> np.ndarray:
    """Each requested user's ALS factors: the model's, else folded in from their positive opinions."""
    known = request.model_user >= 0
    factors = np.zeros((len(request.user_ids), model.item_factors.shape[1]), dtype=np.float32)
    factors[known] = model.user_factors[request.model_user[known]]
    missing = np.flatnonzero(~np.any(factors != 0, axis=1))
    opinions = request.opinions
    liked = opinions.positive & np.isin(opinions.user, missing)
    if not liked.any():
        return factors
    shape = (len(factors), len(model.item_ids))
    values = sp.csr_matrix(
        (opinions.value[liked], (opinions.user[liked], opinions.item[liked])), shape=shape, dtype=np.float32
    )
    factors[missing] = _fold_in(model, missing, values[missing])
    return factors


def _reason_items(
    user: np.ndarray, item: np.ndarray, liked: sp.csr_matrix, unit_item_factors: np.ndarray
) -> np.ndarray:
    """For each recommended (user, item), the user's liked item with the most similar factors."""
    entry, candidate = rows_of(liked, user)
    similarity = np.einsum("ij,ij->i", unit_item_factors[item[entry]], unit_item_factors[candidate])
    order = np.lexsort((candidate, -similarity, entry))
    counts = np.diff(liked.indptr)[user]
    return candidate[order[np.cumsum(counts) - counts]]


def _als_picks(model: TrainedRecommender, request: Request, num_results: int) -> Picks:
    """Top ALS-scored unseen items, with reasons, for requested users who have factors and likes."""
    opinions = request.opinions
    n_users, n_items = len(request.user_ids), len(model.item_ids)
    liked_user, liked_item = opinions.user[opinions.positive], opinions.item[opinions.positive]
    liked = pair_matrix(liked_user, liked_item, (n_users, n_items))
    user_factors = _request_factors(model, request)
    users = np.flatnonzero(np.any(user_factors != 0, axis=1) & (np.diff(liked.indptr) > 0))

    items = _items_by_norm(model)
    column_of_item = np.full(n_items, -1)
    column_of_item[items.item] = np.arange(len(items.item))
    seen_column = column_of_item[request.excluded_item]
    scorable_seen = seen_column >= 0
    seen_shape = (n_users, len(items.factors))
    seen = pair_matrix(request.excluded_user[scorable_seen], seen_column[scorable_seen], seen_shape)
    norms = np.linalg.norm(model.item_factors, axis=1, keepdims=True)
    unit_item_factors = model.item_factors / np.where(norms > 0, norms, 1)
    n = min(num_results, len(items.item))

    def score_chunk(chunk: np.ndarray) -> tuple[np.ndarray, ...]:
        seen_row, seen_column = rows_of(seen, chunk)
        columns, best = _best_columns(user_factors[chunk], items, seen_row, seen_column, n)
        found = np.isfinite(best)
        user = np.broadcast_to(chunk[:, None], found.shape)[found]
        item = items.item[columns[found]]
        position = np.broadcast_to(np.arange(n), found.shape)[found]
        return user, item, best[found], position, _reason_items(user, item, liked, unit_item_factors)

    return picks_in_chunks(users, _USERS_PER_CHUNK, score_chunk, "als")
