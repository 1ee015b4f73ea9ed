"""The item-item hybrid (EASE + item-kNN tail + transitions + content kNN): the default model, stored and served."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_assets.ml.ease import fit_ease
from recsys_assets.ml.encoding import Opinions, TrainingData
from recsys_assets.ml.item_weights import ItemWeights
from recsys_assets.ml.neighbours import fit_content
from recsys_assets.ml.sequence import recency_matrix, transitions
from recsys_assets.ml.topk import top_k_per_row
from recsys_assets.ml.tuning import HybridSettings, sequence_scale, validated_settings


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
class TrainedItemItem(ItemWeights):
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

    name: ClassVar[str] = "item-item"
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
            content=sp.csr_matrix(fit_content(data, params.neighbours).others, dtype=np.float32),
            sequence=fit_sequence(
                learning, collaborative.kept, collaborative.ease, settings.sequence, params.neighbours
            ),
            params=replace(params, settings=settings),
        )

    def scorer(self, data: TrainingData) -> ItemItemScorer:
        """Scores of `data`'s users from their recency-weighted histories."""
        return ItemItemScorer(self, data.recency(self.params.settings.half_life))

    @cached_property
    def sparse_collaborative(self) -> sp.csr_matrix:
        """tail + sequence: the collaborative weights outside the dense EASE block, and transitions."""
        return sp.csr_matrix(self.tail + self.sequence, dtype=np.float32)

    def request_history(self, opinions: Opinions, n_users: int) -> sp.csr_matrix:
        """Requested users x items: each liked item's recency weight (the model's half-life), else empty."""
        liked = opinions.positive
        shape = (n_users, len(self.item_ids))
        return recency_matrix(
            opinions.user[liked], opinions.item[liked], opinions.timestamp[liked], shape, self.params.settings.half_life
        )

    def content_scale(self, liked_count: np.ndarray) -> np.ndarray:
        """content_weight / liked ** decay."""
        return self.params.content_weight / np.maximum(liked_count, 1).astype(np.float64) ** self.params.decay

    @classmethod
    def params_from_json(cls, params: dict) -> ItemItemParams:
        return ItemItemParams(**{**params, "settings": HybridSettings(**params["settings"])})


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
