"""Top-k selection: the best n columns of dense score rows, the k largest positive cells of dense rows, and the k
largest cells of sparse rows."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Items per selection block when picking the top-N of a score row (see `best_per_row`).
SELECTION_BLOCK = 64
# Rows at least this many times wider than the n best blocks are selected by blocks (faster there, see docs/ml.md).
_BLOCKS_PAY_OFF = 4


def best_per_row(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of each row's n best scores (n capped at the width), best first (ties: lower column)."""
    rows, columns = scores.shape
    n = min(n, columns)
    if n == 0:
        return np.zeros((rows, 0), dtype=np.int64), np.zeros((rows, 0), dtype=scores.dtype)
    if _BLOCKS_PAY_OFF * SELECTION_BLOCK * n <= columns:
        if columns % SELECTION_BLOCK:
            scores = np.pad(scores, ((0, 0), (0, -columns % SELECTION_BLOCK)), constant_values=-np.inf)
        candidates = _block_candidates(scores, n)
    elif n < columns:
        candidates = _threshold_candidates(scores, n)
    else:
        candidates = np.broadcast_to(np.arange(columns), scores.shape)
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    best = np.lexsort((candidates, -candidate_scores), axis=1)[:, :n]
    return np.take_along_axis(candidates, best, axis=1), np.take_along_axis(candidate_scores, best, axis=1)


def _block_candidates(scores: np.ndarray, n: int) -> np.ndarray:
    """Columns of each row's n strided blocks of `SELECTION_BLOCK` columns with the highest maxima (see docs/ml.md)."""
    rows, columns = scores.shape
    n_blocks = columns // SELECTION_BLOCK
    block_best = scores.reshape(rows, SELECTION_BLOCK, n_blocks).max(axis=1)
    blocks = np.argpartition(block_best, -n, axis=1)[:, -n:]
    return (blocks[:, :, None] + n_blocks * np.arange(SELECTION_BLOCK)).reshape(rows, -1)


def _threshold_candidates(scores: np.ndarray, n: int) -> np.ndarray:
    """Columns (ascending) of each row's n best cells: those above its n-th best score, then the lowest tied ones."""
    rows, columns = scores.shape
    nth = np.partition(scores, columns - n, axis=1)[:, columns - n, None]
    above = scores > nth
    tied = scores == nth
    keep = above | (tied & (np.cumsum(tied, axis=1) <= n - above.sum(axis=1, keepdims=True)))
    return np.nonzero(keep)[1].reshape(rows, n)


def top_k_positive(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (row by row, columns ascending) of each row's k largest positive cells (ties: lower column)."""
    rows, columns = scores.shape
    if k >= columns:
        return np.divmod(np.flatnonzero(scores > 0), columns)
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    nth = np.partition(scores, columns - k, axis=1)[:, columns - k, None]
    keep = (scores >= nth) & (scores > 0)
    tied = np.flatnonzero(keep.sum(axis=1) > k)  # the k-th best score is tied beyond k: the lowest tied columns
    keep[tied] = False
    row, column = np.divmod(np.flatnonzero(keep), columns)
    if not len(tied):
        return row, column
    row = np.concatenate([row, np.repeat(tied, k)])
    column = np.concatenate([column, _threshold_candidates(scores[tied], k).ravel()])
    order = np.lexsort((column, row))
    return row[order], column[order]


def top_k_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's k largest stored values (ties: lower column)."""
    matrix = sp.csr_matrix(matrix)
    matrix.sum_duplicates()
    row = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -matrix.data, row))
    rank = np.arange(len(order)) - matrix.indptr[row[order]]
    keep = order[rank < k]
    return sp.csr_matrix((matrix.data[keep], (row[keep], matrix.indices[keep])), shape=matrix.shape)
