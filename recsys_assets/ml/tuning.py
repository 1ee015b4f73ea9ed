"""The item-item model's settings, validated at fit time on items hidden from training users (see docs/ml.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys_assets.ml.ease import ease_from_gram, most_popular_items
from recsys_assets.ml.encoding import TrainingData
from recsys_assets.ml.metrics import hidden_ndcg
from recsys_assets.ml.sequence import newest_share, recency_matrix, transitions


@dataclass(frozen=True)
class HybridSettings:
    """What `validated_settings` picks: EASE's lambda per mean item count, the recency half-life in
    liked items (None: order ignored) and the transitions' weight relative to EASE (0: none)."""

    regularization: float
    half_life: float | None
    sequence: float


# Used below `min_users` validation users: within what MovieLens' and the sample's validation splits
# pick (lambda 3-100, half-life 3.5, transition weight 0.5-4), at the cautious end for transitions.
FALLBACK_SETTINGS = HybridSettings(regularization=30.0, half_life=3.5, sequence=0.5)


def validated_settings(
    data: TrainingData,
    regularizations: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0),
    half_lives: tuple[float | None, ...] = (None, 3.5),
    sequence_weights: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0),
    fallback: HybridSettings = FALLBACK_SETTINGS,
    min_users: int = 200,
    max_items: int = 1000,
    max_users: int = 2000,
    ease_items: int = 3000,
    folds: int = 5,
    seed: int = 0,
) -> HybridSettings:
    """The item-item settings that best rank items hidden from training users (docs/ml.md);
    `fallback` below `min_users` eligible users."""
    kept = most_popular_items(data, max_items)
    position = np.full(len(data.item_ids), -1)
    position[kept] = np.arange(len(kept))
    in_kept = position[data.matrix.indices] >= 0
    user, item, timestamp = data.entry_user[in_kept], position[data.matrix.indices[in_kept]], data.timestamp[in_kept]
    liked = np.bincount(user, minlength=len(data.user_ids))
    eligible = np.flatnonzero(liked >= 2)
    if len(eligible) < min_users:
        return fallback
    rng = np.random.default_rng(seed)
    users = np.sort(rng.choice(eligible, size=min(len(eligible), max_users), replace=False))
    shape = (len(data.user_ids), len(kept))
    mean_count = float(data.popularity[most_popular_items(data, ease_items)].mean())

    plain, hidden, gram = _held_out(user, item, _one_random_like(user, users, liked, rng), users, shape)
    strongest_first = sorted(regularizations, reverse=True)
    by_lambda = [
        hidden_ndcg(plain, plain @ ease_from_gram(gram, value * mean_count), hidden) for value in strongest_first
    ]
    regularization = strongest_first[int(np.argmax(np.mean(by_lambda, axis=1)))]

    newest = newest_share(user, timestamp, rng.random(len(user)), 0.1) & np.isin(user, users)  # ties: no order
    fold = rng.permutation(len(users)) % folds
    likes = (user, item, timestamp, newest)
    results = np.concatenate(
        [
            _order_ndcg(likes, users[fold == index], shape, regularization * mean_count, half_lives, sequence_weights)
            for index in range(folds)
        ],
        axis=1,
    )
    candidates = [
        HybridSettings(regularization, half_life, weight) for half_life in half_lives for weight in sequence_weights
    ]
    return candidates[simplest_within_one_standard_error(results)]


def _order_ndcg(
    likes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    group: np.ndarray,
    shape: tuple[int, int],
    regularization: float,
    half_lives: tuple[float | None, ...],
    sequence_weights: tuple[float, ...],
) -> np.ndarray:
    """NDCG@10 (half-life x weight rows, `group` users columns) of the group's `newest` likes, learned without them."""
    user, item, timestamp, newest = likes
    in_group = np.isin(user, group)
    learned = ~in_group
    rest = sp.csr_matrix((np.ones(int(learned.sum()), dtype=np.float32), (user[learned], item[learned])), shape=shape)
    ease = ease_from_gram((rest.T @ rest).toarray(), regularization)
    sequence = transitions(user[learned], item[learned], timestamp[learned], shape[1])
    scale = sequence_scale(ease, sequence)
    truth = in_group & newest
    hidden = sp.csr_matrix((np.ones(int(truth.sum()), dtype=bool), (user[truth], item[truth])), shape=shape)[
        group
    ].toarray()
    given = in_group & ~newest
    results = []
    for half_life in half_lives:
        history = recency_matrix(user[given], item[given], timestamp[given], shape, half_life)[group]
        collaborative, transition = history @ ease, (history @ sequence).toarray()
        results += [
            hidden_ndcg(history, collaborative + weight * scale * transition, hidden) for weight in sequence_weights
        ]
    return np.array(results)


def _one_random_like(user: np.ndarray, users: np.ndarray, liked: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mask of one random entry of each of `users` (entries sorted by user; `liked` = entries per user)."""
    chosen = np.zeros(len(user), dtype=bool)
    chosen[np.searchsorted(user, users) + rng.integers(0, liked[users])] = True
    return chosen


def _held_out(
    user: np.ndarray, item: np.ndarray, hide: np.ndarray, users: np.ndarray, shape: tuple[int, int]
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Without the `hide` entries: the `users`' binary rows, their hidden items (dense) and the item Gram matrix."""
    rest = sp.csr_matrix((np.ones(int((~hide).sum()), dtype=np.float32), (user[~hide], item[~hide])), shape=shape)
    hidden = sp.csr_matrix((np.ones(int(hide.sum()), dtype=bool), (user[hide], item[hide])), shape=shape)[
        users
    ].toarray()
    return rest[users], hidden, (rest.T @ rest).toarray()


def simplest_within_one_standard_error(per_user: np.ndarray) -> int:
    """First candidate (row) whose mean is within one standard error (of the paired differences) of the best."""
    best = int(np.argmax(per_user.mean(axis=1)))
    differences = per_user[best] - per_user
    standard_error = (
        differences.std(axis=1, ddof=1) / np.sqrt(max(per_user.shape[1], 1)) if per_user.shape[1] > 1 else 0
    )
    return int(np.flatnonzero(differences.mean(axis=1) <= standard_error)[0])


def sequence_scale(ease: np.ndarray, sequence: sp.csr_matrix) -> float:
    """Factor bringing the transitions' mean row maximum to EASE's (1 when either is empty)."""
    ease_max = ease.max(axis=1, initial=0.0)
    sequence_max = sequence.max(axis=1).toarray().ravel() if sequence.nnz else np.zeros(0)
    ease_max, sequence_max = ease_max[ease_max > 0], sequence_max[sequence_max > 0]
    if not len(ease_max) or not len(sequence_max):
        return 1.0
    return float(ease_max.mean() / sequence_max.mean())
