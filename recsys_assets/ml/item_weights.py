"""Served item x item models: scores = history @ (a dense block over the `kept` items + sparse weights)
+ content_scale x history @ content, each pick with the liked item that drove it (see docs/ml.md)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_assets.ml.base import RecommenderModel
from recsys_assets.ml.encoding import Opinions, TrainingData, binarized, pair_matrix, rows_of
from recsys_assets.ml.serving import Picks, Request, TrainedOnCatalog, picks_in_chunks, recommend_with_fallback
from recsys_assets.ml.topk import best_per_row

# Requested users scored together by one thread.
_USERS_PER_CHUNK = 2048


@dataclass(frozen=True)
class ItemWeightsScorer:
    """scores = history @ others, plus history[:, kept] @ ease on the kept columns (`others` holds no kept pair)."""

    history: sp.csr_matrix
    kept: np.ndarray
    ease: np.ndarray
    others: sp.csr_matrix

    def scores(self, rows: np.ndarray) -> np.ndarray:
        history = self.history[rows]
        scores = np.asarray((history @ self.others).toarray(), dtype=np.float32)
        if len(self.kept):
            scores[:, self.kept] += history[:, self.kept] @ self.ease
        return scores


class ItemWeights(TrainedOnCatalog, RecommenderModel):
    """A served item x item model: `ease` (dense, over the `kept` item codes), `sparse_collaborative` and
    `content` (item x item CSR), served by `item_weight_picks` then the popularity fallback."""

    kept: np.ndarray
    ease: np.ndarray
    sparse_collaborative: sp.csr_matrix
    content: sp.csr_matrix

    def request_history(self, opinions: Opinions, n_users: int) -> sp.csr_matrix:
        """Requested users x items: the weight of each liked item in the users' scores."""
        raise NotImplementedError

    def content_scale(self, liked_count: np.ndarray) -> np.ndarray:
        """Each requested user's weight of the content scores, from their liked counts."""
        raise NotImplementedError

    def recommend(
        self,
        interactions: pd.DataFrame,
        user_ids: pd.Series | np.ndarray | list[str],
        num_results: int = 5,
        buy_again_after_days: int | None = None,
    ) -> pd.DataFrame:
        """Top `num_results` unseen items per requested user (RECOMMENDATION_COLUMNS): positively scored picks
        with the liked item that drove each (null if none), then the popularity fallback."""
        return recommend_with_fallback(
            self, interactions, user_ids, num_results, item_weight_picks, True, buy_again_after_days
        )


@dataclass(eq=False)
class TrainedItemWeights(ItemWeights):
    """One item x item weight matrix (EASE block over `kept` + sparse `others`) on the (binary) histories:
    the served item-kNN, content and EASE models."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    item_popularity: np.ndarray
    item_categories: np.ndarray
    kept: np.ndarray
    ease: np.ndarray
    others: sp.csr_matrix
    params: object

    @classmethod
    def of(cls, data: TrainingData, scorer: ItemWeightsScorer, params: object) -> TrainedItemWeights:
        """The served model of a fitted scorer."""
        return cls(
            user_ids=data.user_ids,
            item_ids=data.item_ids,
            item_popularity=data.learning_part.popularity,
            item_categories=data.item_category,
            kept=scorer.kept,
            ease=scorer.ease,
            others=sp.csr_matrix(scorer.others, dtype=np.float32),
            params=params,
        )

    def history(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """The values the weights multiply: 1 per liked item unless the params say `binary=False`."""
        return binarized(matrix) if getattr(self.params, "binary", True) else matrix

    def scorer(self, data: TrainingData) -> ItemWeightsScorer:
        return ItemWeightsScorer(self.history(data.matrix), self.kept, self.ease, self.others)

    @property
    def sparse_collaborative(self) -> sp.csr_matrix:
        return self.others

    @cached_property
    def content(self) -> sp.csr_matrix:
        return sp.csr_matrix(self.others.shape, dtype=np.float32)

    def request_history(self, opinions: Opinions, n_users: int) -> sp.csr_matrix:
        liked = opinions.positive
        shape = (n_users, len(self.item_ids))
        values = sp.csr_matrix(
            (opinions.value[liked].astype(np.float32), (opinions.user[liked], opinions.item[liked])), shape=shape
        )
        return self.history(values)

    def content_scale(self, liked_count: np.ndarray) -> np.ndarray:
        return np.zeros(len(liked_count))


def _kept_positions(model: ItemWeights) -> np.ndarray:
    """Each item's row/column in `model.ease` (-1 outside the EASE items)."""
    position = np.full(len(model.item_ids), -1)
    position[model.kept] = np.arange(len(model.kept))
    return position


def _chunk_candidates(
    model: ItemWeights,
    kept_position: np.ndarray,
    history: sp.csr_matrix,
    content_scale: np.ndarray,
    seen: sp.csr_matrix,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, item, score) of unseen positively scored candidates holding each row's n best."""
    n_items = len(model.item_ids)
    sparse = (history @ model.sparse_collaborative + sp.diags(content_scale) @ (history @ model.content)).tocoo()
    dense = np.asarray(history[:, model.kept] @ model.ease, dtype=np.float32)
    position = kept_position[sparse.col]
    in_block = position >= 0
    dense[sparse.row[in_block], position[in_block]] += sparse.data[in_block]
    seen_row, seen_item = seen.nonzero()
    seen_kept = kept_position[seen_item] >= 0
    dense[seen_row[seen_kept], kept_position[seen_item[seen_kept]]] = -np.inf
    best, best_scores = best_per_row(dense, n)
    width = best.shape[1]
    floor = np.maximum(best_scores.min(axis=1, initial=np.inf) if width == n else np.zeros(len(dense)), 0.0)
    outside = ~in_block & (sparse.data >= floor[sparse.row]) & (sparse.data > 0)
    outside[outside] = ~np.isin(sparse.row[outside] * n_items + sparse.col[outside], seen_row * n_items + seen_item)
    keep = best_scores.ravel() > 0
    return (
        np.concatenate([np.repeat(np.arange(len(dense)), width)[keep], sparse.row[outside]]),
        np.concatenate([model.kept[best.ravel()][keep], sparse.col[outside]]),
        np.concatenate([best_scores.ravel()[keep], sparse.data[outside]]),
    )


def _reasons(
    model: ItemWeights,
    kept_position: np.ndarray,
    history: sp.csr_matrix,
    content_scale: np.ndarray,
    user: np.ndarray,
    item: np.ndarray,
) -> np.ndarray:
    """For each (user, item) pick, the liked item with the largest positive term of its score (-1 if none)."""
    entry, candidate = rows_of(history, user)
    target = item[entry]
    both_kept = (kept_position[candidate] >= 0) & (kept_position[target] >= 0)
    term = np.zeros(len(entry), dtype=np.float64)
    term[both_kept] = model.ease[kept_position[candidate[both_kept]], kept_position[target[both_kept]]]
    if len(entry):
        term += np.asarray(model.sparse_collaborative[candidate, target]).ravel()
        term += content_scale[user[entry]] * np.asarray(model.content[candidate, target]).ravel()
        term *= np.asarray(history[user[entry], candidate]).ravel()
    order = np.lexsort((candidate, -term, entry))
    counts = np.diff(history.indptr)[user]
    first = order[np.cumsum(counts) - counts]
    return np.where(term[first] > 0, candidate[first], -1)


def item_weight_picks(model: ItemWeights, request: Request, num_results: int) -> Picks:
    """Top positively scored unseen items, with reasons, for requested users with a liked item."""
    opinions = request.opinions
    n_users, n_items = len(request.user_ids), len(model.item_ids)
    liked = model.request_history(opinions, n_users)
    seen = pair_matrix(request.excluded_user, request.excluded_item, (n_users, n_items))
    liked_count = np.diff(liked.indptr)
    content_scale = model.content_scale(liked_count)
    users = np.flatnonzero(liked_count > 0)
    kept_position = _kept_positions(model)
    n = num_results

    def score_chunk(chunk: np.ndarray) -> tuple[np.ndarray, ...]:
        history = liked[chunk]
        row, item, score = _chunk_candidates(model, kept_position, history, content_scale[chunk], seen[chunk], n)
        order = np.lexsort((item, -score, row))
        row, item, score = row[order], item[order], score[order]
        position = np.arange(len(row)) - np.searchsorted(row, row)
        top = position < n
        user = chunk[row[top]]
        reason = _reasons(model, kept_position, liked, content_scale, user, item[top])
        return user, item[top], score[top], position[top], reason

    return picks_in_chunks(users, _USERS_PER_CHUNK, score_chunk, model.name)
