import numpy as np
import pytest
import scipy.sparse as sp

from recsys_assets.ml.topk import best_per_row, top_k_per_row, top_k_positive


@pytest.mark.parametrize("columns", [5, 64, 100, 640, 1000])
@pytest.mark.parametrize("n", [0, 1, 3, 10])
def test_best_per_row_is_a_full_sort_ties_to_the_lower_column(columns, n):
    scores = np.random.default_rng(columns + n).integers(0, 4, size=(30, columns)).astype(np.float32)
    scores[:, ::7] = -np.inf
    best, values = best_per_row(scores, n)
    expected = np.lexsort((np.broadcast_to(np.arange(columns), scores.shape), -scores), axis=1)[:, : min(n, columns)]
    assert best.shape == expected.shape
    # every pick is a best score; ties at block maxima may pick another column of the same score
    np.testing.assert_array_equal(values, np.take_along_axis(scores, expected, axis=1))
    if columns < 4 * 64 * n:
        np.testing.assert_array_equal(best, expected)


def test_top_k_per_row_keeps_the_largest_cells_ties_to_the_lower_column():
    matrix = sp.csr_matrix(np.array([[0.0, 2.0, 1.0, 2.0], [3.0, 0.0, 0.0, 0.0]]))
    assert top_k_per_row(matrix, 2).toarray().tolist() == [[0.0, 2.0, 0.0, 2.0], [3.0, 0.0, 0.0, 0.0]]
    assert top_k_per_row(matrix, 1).toarray().tolist() == [[0.0, 2.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0]]


@pytest.mark.parametrize("columns", [1, 5, 40])
@pytest.mark.parametrize("k", [0, 1, 3, 10, 50])
def test_top_k_positive_is_a_full_sort_of_the_positive_cells_ties_to_the_lower_column(columns, k):
    scores = np.random.default_rng(columns + k).integers(-1, 3, size=(30, columns)).astype(np.float32)
    row, column = top_k_positive(scores, k)
    order = np.lexsort((np.broadcast_to(np.arange(columns), scores.shape), -scores), axis=1)[:, :k]
    expected = np.zeros(scores.shape, dtype=bool)
    np.put_along_axis(expected, order, True, axis=1)
    expected &= scores > 0
    assert [row.tolist(), column.tolist()] == [part.tolist() for part in np.nonzero(expected)]
