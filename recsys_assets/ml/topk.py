"""Top-k selection: the best n columns of dense score rows, and the k largest cells of sparse rows."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Items per selection block when picking the top-N of a score row (see `best_per_row`).
SELECTION_BLOCK = 64


def best_per_row(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of each row's n best scores, best first (ties: lower column).

    Columns are split into `SELECTION_BLOCK` strided blocks; a row's n best cells lie in its
    n blocks with the highest maxima, so only those blocks are sorted (exact, and much cheaper
    than partitioning every full row). `scores.shape[1]` must be a multiple of the block size.
    """
    rows, columns = scores.shape
    n_blocks = columns // SELECTION_BLOCK
    if n_blocks > n:
        block_best = scores.reshape(rows, SELECTION_BLOCK, n_blocks).max(axis=1)
        blocks = np.argpartition(block_best, -n, axis=1)[:, -n:]
        candidates = (blocks[:, :, None] + n_blocks * np.arange(SELECTION_BLOCK)).reshape(rows, -1)
    else:
        candidates = np.broadcast_to(np.arange(columns), scores.shape)
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    best = np.lexsort((candidates, -candidate_scores), axis=1)[:, :n]
    return np.take_along_axis(candidates, best, axis=1), np.take_along_axis(candidate_scores, best, axis=1)


def top_k_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's k largest stored values (ties: lower column)."""
    matrix = sp.csr_matrix(matrix)
    matrix.sum_duplicates()
    row = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -matrix.data, row))
    rank = np.arange(len(order)) - matrix.indptr[row[order]]
    keep = order[rank < k]
    return sp.csr_matrix((matrix.data[keep], (row[keep], matrix.indices[keep])), shape=matrix.shape)
