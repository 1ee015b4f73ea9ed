"""Order within a customer's history: recency weights and item-to-next-item transitions (docs/ml.md)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# The weight of an item liked long before the newest one, relative to the newest's 1.
RECENCY_FLOOR = 1 / 6


def newer_counts(user: np.ndarray, timestamp: np.ndarray) -> np.ndarray:
    """For each entry, how many entries of the same user have a strictly later timestamp (0 = newest)."""
    order = np.lexsort((-timestamp, user))
    sorted_user, sorted_time = user[order], timestamp[order]
    first_of_user = np.searchsorted(sorted_user, sorted_user)
    starts_run = np.ones(len(order), dtype=bool)
    starts_run[1:] = (sorted_user[1:] != sorted_user[:-1]) | (sorted_time[1:] != sorted_time[:-1])
    run_start = np.maximum.accumulate(np.where(starts_run, np.arange(len(order)), 0))
    counts = np.empty(len(order), dtype=np.int64)
    counts[order] = run_start - first_of_user
    return counts


def recency_weights(newer: np.ndarray, half_life: float | None, floor: float = RECENCY_FLOOR) -> np.ndarray:
    """floor + (1 - floor) * 0.5 ** (newer / half_life): 1 for the newest item; all 1 when half_life is None."""
    if half_life is None:
        return np.ones(len(newer), dtype=np.float32)
    return (floor + (1 - floor) * np.exp2(-np.asarray(newer) / half_life)).astype(np.float32)


def recency_matrix(
    user: np.ndarray, item: np.ndarray, timestamp: np.ndarray, shape: tuple[int, int], half_life: float | None
) -> sp.csr_matrix:
    """Users x items: each (user, item) like weighted by its recency in the user's history."""
    return sp.csr_matrix((recency_weights(newer_counts(user, timestamp), half_life), (user, item)), shape=shape)


def newest_share(user: np.ndarray, timestamp: np.ndarray, tiebreak: np.ndarray, share: float) -> np.ndarray:
    """Mask of each user's newest entries: floor(share x n) of n, at least 1 and at most n - 1.

    `user` holds codes (0..); among equal timestamps the larger `tiebreak` counts as newer."""
    oldest_first = np.lexsort((tiebreak, timestamp, user))
    sorted_user = user[oldest_first]
    count = np.bincount(user)[sorted_user]
    newer = count - 1 - (np.arange(len(user)) - np.searchsorted(sorted_user, sorted_user))
    held_out = np.clip(np.floor(share * count + 1e-9).astype(np.int64), 1, count - 1)
    mask = np.empty(len(user), dtype=bool)
    mask[oldest_first] = newer < held_out
    return mask


def transitions(
    user: np.ndarray, item: np.ndarray, timestamp: np.ndarray, n_items: int, window: int = 30
) -> sp.csr_matrix:
    """Item x item cosine-scaled weights of "liked i within `window` liked items after j" (docs/ml.md)."""
    order = np.lexsort((item, timestamp, user))
    user, item, timestamp = user[order], item[order], timestamp[order]
    total = sp.csr_matrix((n_items, n_items), dtype=np.float32)
    for gap in range(1, window + 1):
        same_user = user[gap:] == user[:-gap]
        if not same_user.any():
            break
        later = same_user & (timestamp[gap:] > timestamp[:-gap])
        total = total + sp.csr_matrix(
            (np.full(int(later.sum()), gap**-0.5, dtype=np.float32), (item[:-gap][later], item[gap:][later])),
            shape=(n_items, n_items),
        )
    scale = sp.diags(1 / np.sqrt(np.maximum(np.bincount(item, minlength=n_items), 1)).astype(np.float32))
    return sp.csr_matrix(scale @ total @ scale, dtype=np.float32)
