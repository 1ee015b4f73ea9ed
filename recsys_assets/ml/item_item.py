"""The item-item hybrid (EASE + item-kNN tail + transitions + content kNN): the default model, stored and served."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_assets.ml.base import ARRAYS_FILE, PARAMS_FILE, RecommenderModel
from recsys_assets.ml.ease import fit_ease
from recsys_assets.ml.encoding import (
    Opinions,
    TrainingData,
    pair_matrix,
    rows_of,
    training_data,
)
from recsys_assets.ml.neighbours import fit_content
from recsys_assets.ml.sequence import recency_matrix, transitions
from recsys_assets.ml.serving import Picks, Request, TrainedOnCatalog, picks_in_chunks, recommend_with_fallback
from recsys_assets.ml.topk import best_per_row, top_k_per_row
from recsys_assets.ml.tuning import HybridSettings, sequence_scale, validated_settings

# Requested users scored together by one thread.
_USERS_PER_CHUNK = 2048

_SPARSE_MATRICES = ("tail", "content", "sequence")


@dataclass(frozen=True)
class ItemItemParams:
    """Hyper-parameters of `TrainedItemItem.fit` (settings None = `tuning.validated_settings` at fit time)."""

    neighbours: int = 100
    content_weight: float = 0.003
    decay: float = 2.0
    settings: HybridSettings | None = None
    max_items: int = 3000
    tail_weight: float = 0.001
    min_positive_value: float = 0.0


@dataclass(eq=False)
class TrainedItemItem(TrainedOnCatalog, RecommenderModel):
    """Item x item weights plus what the popularity fallback needs; rows follow the sorted id arrays.

    `ease` is over the `kept` item codes; `tail`, `content` and `sequence` are item x item CSR matrices."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    item_popularity: np.ndarray
    item_categories: np.ndarray
    kept: np.ndarray
    ease: np.ndarray
    tail: sp.csr_matrix
    content: sp.csr_matrix
    sequence: sp.csr_matrix
    params: ItemItemParams

    params_type: ClassVar[type] = ItemItemParams

    @classmethod
    def fit(cls, data: TrainingData, params: ItemItemParams = ItemItemParams()) -> TrainedItemItem:
        """EASE (item-kNN beyond its items), transitions and content kNN, learned from `data.learning_part`;
        `params.settings` None: `tuning.validated_settings` picks them."""
        learning = data.learning_part
        settings = params.settings or validated_settings(learning, ease_items=params.max_items)
        collaborative = fit_ease(
            learning, settings.regularization, params.max_items, True, params.neighbours, params.tail_weight
        )
        return cls(
            user_ids=data.user_ids,
            item_ids=data.item_ids,
            item_popularity=learning.popularity,
            item_categories=data.item_category,
            kept=collaborative.kept,
            ease=collaborative.ease,
            tail=sp.csr_matrix(collaborative.others, dtype=np.float32),
            content=sp.csr_matrix(fit_content(data, params.neighbours).similarity, dtype=np.float32),
            sequence=fit_sequence(
                learning, collaborative.kept, collaborative.ease, settings.sequence, params.neighbours
            ),
            params=replace(params, settings=settings),
        )

    def scorer(self, data: TrainingData) -> ItemItemScorer:
        """Scores of `data`'s users from their recency-weighted histories."""
        return ItemItemScorer(self, data.recency(self.params.settings.half_life))

    def recommend(
        self, interactions: pd.DataFrame, user_ids: pd.Series | np.ndarray | list[str], num_results: int = 5
    ) -> pd.DataFrame:
        """See `recommend_item_item`."""
        return recommend_item_item(self, interactions, user_ids, num_results)

    @cached_property
    def sparse_collaborative(self) -> sp.csr_matrix:
        """tail + sequence: the collaborative weights outside the dense EASE block, and transitions."""
        return sp.csr_matrix(self.tail + self.sequence, dtype=np.float32)

    def save(self, directory: Path) -> None:
        """Write the model as ``arrays.npz`` + ``params.json`` (no pickle)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        sparse = {
            f"{name}_{part}": getattr(getattr(self, name), part)
            for name in _SPARSE_MATRICES
            for part in ("data", "indices", "indptr")
        }
        np.savez(
            directory / ARRAYS_FILE,
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            item_popularity=self.item_popularity,
            item_categories=self.item_categories,
            kept=self.kept,
            ease=self.ease,
            **sparse,
        )
        (directory / PARAMS_FILE).write_text(json.dumps({"model": "item-item", **asdict(self.params)}, indent=2))

    @staticmethod
    def is_saved_in(directory: Path) -> bool:
        """Whether `directory` holds a model written by `save` (rather than an ALS model)."""
        params = Path(directory) / PARAMS_FILE
        return params.exists() and json.loads(params.read_text()).get("model") == "item-item"

    @classmethod
    def load(cls, directory: Path) -> TrainedItemItem:
        """Read a model written by `save`."""
        directory = Path(directory)
        params = json.loads((directory / PARAMS_FILE).read_text())
        params.pop("model")
        params["settings"] = HybridSettings(**params["settings"])
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
            n_items = len(arrays["item_ids"])
            sparse = {
                name: sp.csr_matrix(
                    (arrays[f"{name}_data"], arrays[f"{name}_indices"], arrays[f"{name}_indptr"]),
                    shape=(n_items, n_items),
                )
                for name in _SPARSE_MATRICES
            }
            dense = {
                name: arrays[name]
                for name in ("user_ids", "item_ids", "item_popularity", "item_categories", "kept", "ease")
            }
        return cls(**dense, **sparse, params=ItemItemParams(**params))


def train_item_item(
    interactions: pd.DataFrame, items: pd.DataFrame, params: ItemItemParams = ItemItemParams()
) -> TrainedItemItem:
    """Fit the hybrid on the positive opinions; the item universe is the catalog plus reviewed items."""
    return TrainedItemItem.fit(training_data(interactions, items, params.min_positive_value), params)


@dataclass(frozen=True)
class ItemItemScorer:
    """history @ (EASE on the kept items + tail + transitions) + content_weight / liked ** decay x history @ content."""

    model: TrainedItemItem
    history: sp.csr_matrix

    def scores(self, rows: np.ndarray) -> np.ndarray:
        model, history = self.model, self.history[rows]
        scores = np.asarray((history @ model.sparse_collaborative).toarray(), dtype=np.float32)
        scores[:, model.kept] += history[:, model.kept] @ model.ease
        liked = np.maximum(np.diff(history.indptr), 1).astype(np.float32)
        content_weight = (model.params.content_weight / liked**model.params.decay)[:, None]
        return scores + content_weight * np.asarray((history @ model.content).toarray(), dtype=np.float32)


def fit_sequence(
    data: TrainingData, kept: np.ndarray, ease: np.ndarray, weight: float, neighbours: int = 100
) -> sp.csr_matrix:
    """Transitions of the training histories, top `neighbours` per item, times weight x `sequence_scale`."""
    n_items = len(data.item_ids)
    if weight == 0:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    sequence = top_k_per_row(transitions(data.entry_user, data.matrix.indices, data.timestamp, n_items), neighbours)
    return sp.csr_matrix(sequence * (weight * sequence_scale(ease, sequence[kept][:, kept])), dtype=np.float32)


def _kept_positions(model: TrainedItemItem) -> np.ndarray:
    """Each item's row/column in `model.ease` (-1 outside the EASE items)."""
    position = np.full(len(model.item_ids), -1)
    position[model.kept] = np.arange(len(model.kept))
    return position


def _chunk_candidates(
    model: TrainedItemItem,
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
    model: TrainedItemItem,
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


def _recency_history(model: TrainedItemItem, opinions: Opinions, n_users: int) -> sp.csr_matrix:
    """Requested users x items: each liked item's recency weight (the model's half-life), else empty."""
    liked = opinions.positive
    shape = (n_users, len(model.item_ids))
    return recency_matrix(
        opinions.user[liked], opinions.item[liked], opinions.timestamp[liked], shape, model.params.settings.half_life
    )


def item_item_picks(model: TrainedItemItem, request: Request, num_results: int) -> Picks:
    """Top positively scored unseen items, with reasons, for requested users with a liked item."""
    opinions = request.opinions
    n_users, n_items = len(request.user_ids), len(model.item_ids)
    liked = _recency_history(model, opinions, n_users)
    seen = pair_matrix(opinions.user, opinions.item, (n_users, n_items))
    liked_count = np.diff(liked.indptr)
    content_scale = model.params.content_weight / np.maximum(liked_count, 1).astype(np.float64) ** model.params.decay
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

    return picks_in_chunks(users, _USERS_PER_CHUNK, score_chunk, "item-item")


def recommend_item_item(
    model: TrainedItemItem,
    interactions: pd.DataFrame,
    user_ids: pd.Series | np.ndarray | list[str],
    num_results: int = 5,
) -> pd.DataFrame:
    """Top `num_results` unseen items per requested user (RECOMMENDATION_COLUMNS): positively scored
    item-item picks with the liked item that drove each (null if none), then the popularity fallback."""
    return recommend_with_fallback(
        model, interactions, user_ids, num_results, model_picks=item_item_picks, use_favourite_category=True
    )
