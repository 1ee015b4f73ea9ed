"""Item-kNN and content kNN: cosine neighbours of item columns or of item metadata TF-IDF."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_assets.ml.encoding import TrainingData, binarized
from recsys_assets.ml.item_weights import ItemWeightsScorer, TrainedItemWeights
from recsys_assets.ml.topk import top_k_per_row, top_k_positive

TOKEN = re.compile(r"[^\W_]{2,}")

# A token or the line break that separates two items' texts in `tfidf`, which reads texts in chunks.
_TOKEN_OR_BREAK = re.compile(rf"{TOKEN.pattern}|\n")

_TEXTS_PER_CHUNK = 10_000

# Similarity rows computed together when keeping each item's nearest neighbours (at most), and the cells of a block:
# 8 Mi float32 cells (32 MiB) whatever the size of a group.
_NEIGHBOUR_BLOCK = 2048
_BLOCK_CELLS = 8 * 1024 * 1024

# A group's features up to this many cells (float32) are multiplied densely in `grouped_cosine_neighbours`.
_DENSE_FEATURE_CELLS = 32 * 1024 * 1024

# Content kNN compares items within sub-groups of at most this many similar items (`similar_subgroups`), so a fit
# takes O(n x bound) time however large a leaf category; k-means splits a part into `_BRANCHES` clusters per level,
# with `_KMEANS_ITERATIONS` assignment rounds.
MAX_GROUP = 4096
_BRANCHES = 16
_KMEANS_ITERATIONS = 10


def similarity_scorer(history: sp.csr_matrix, similarity: sp.csr_matrix) -> ItemWeightsScorer:
    """Scores = history @ similarity (item x item)."""
    return ItemWeightsScorer(history, np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), similarity)


def fit_item_knn(data: TrainingData, neighbours: int = 100, binary: bool = True) -> ItemWeightsScorer:
    """Item-kNN: cosine between item columns of the user-item matrix, top `neighbours` per item."""
    learned, history = (data.learning_part.matrix, data.matrix)
    if binary:
        learned, history = binarized(learned), binarized(history)
    return similarity_scorer(history, cosine_neighbours(sp.csr_matrix(learned.T), neighbours))


def fit_content(data: TrainingData, neighbours: int = 100, same_leaf_category: bool = True) -> ItemWeightsScorer:
    """Content kNN: cosine of the items' metadata TF-IDF, top `neighbours` per item (within the leaf
    category with `same_leaf_category`; within sub-groups of similar items in a group above `MAX_GROUP` items,
    `similar_subgroups`); users are scored from the binary matrix."""
    features = tfidf(data.item_text)
    groups = data.item_leaf_category if same_leaf_category else np.zeros(len(data.item_ids), dtype=np.int64)
    groups = similar_subgroups(features, groups)
    return similarity_scorer(binarized(data.matrix), grouped_cosine_neighbours(features, groups, neighbours))


@dataclass(frozen=True)
class ItemKnnParams:
    """Parameters of `fit_item_knn`."""

    neighbours: int = 100
    binary: bool = True
    min_positive_value: float = 0.0


@dataclass(eq=False)
class TrainedItemKnn(TrainedItemWeights):
    """Item-kNN, served."""

    name: ClassVar[str] = "item-knn"
    params_type: ClassVar[type] = ItemKnnParams

    @classmethod
    def fit(cls, data: TrainingData, params: ItemKnnParams = ItemKnnParams()) -> TrainedItemKnn:
        return cls.of(data, fit_item_knn(data, params.neighbours, params.binary), params)


@dataclass(frozen=True)
class ContentParams:
    """Parameters of `fit_content`."""

    neighbours: int = 100
    same_leaf_category: bool = True
    min_positive_value: float = 0.0


@dataclass(eq=False)
class TrainedContent(TrainedItemWeights):
    """Content kNN, served (users' histories binary)."""

    name: ClassVar[str] = "content"
    params_type: ClassVar[type] = ContentParams

    @classmethod
    def fit(cls, data: TrainingData, params: ContentParams = ContentParams()) -> TrainedContent:
        return cls.of(data, fit_content(data, params.neighbours, params.same_leaf_category), params)


def cosine_neighbours(features: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Item x item cosine of the feature rows, each row cut to its k most similar other items."""
    return grouped_cosine_neighbours(features, np.zeros(features.shape[0], dtype=np.int64), k)


def unit_rows(features: sp.csr_matrix) -> sp.csr_matrix:
    """The feature rows scaled to length 1 (float32 CSR); an empty row stays empty."""
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1 / np.where(norms > 0, norms, 1)) @ features, dtype=np.float32)


def grouped_cosine_neighbours(features: sp.csr_matrix, groups: np.ndarray, k: int) -> sp.csr_matrix:
    """Item x item cosine of the feature rows within each group of items (equal labels in `groups`; no pair across
    groups), each row cut to its k most similar other items; by blocks of rows, in O(n k + `_BLOCK_CELLS`) memory."""
    n_items = features.shape[0]
    _, codes = np.unique(groups, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    code = codes[order]
    group_start, group_end = np.searchsorted(code, code, "left"), np.searchsorted(code, code, "right")
    unit = unit_rows(features)[order]
    order = order.astype(np.int32 if n_items < 2**31 else np.int64)  # the kept pairs' coordinates: half the bytes
    rows, columns, values = [order[:0]], [order[:0]], [np.zeros(0, np.float32)]
    span, against = None, None
    start = 0
    while start < n_items:
        stop = _block_stop(start, group_start, group_end)
        first, last = int(group_start[start]), int(group_end[stop - 1])
        if span != (first, last):  # one group's row blocks all multiply the same columns
            span, against = (first, last), unit[first:last].T
            if (last - first) * unit.shape[1] <= _DENSE_FEATURE_CELLS:
                against = np.ascontiguousarray(against.toarray())
            else:
                against = sp.csr_matrix(against)  # a CSC operand would be converted for every block
        similarity = unit[start:stop] @ against
        row, column, value = _block_neighbours(similarity, code[start:stop], code[first:last], start - first, k)
        rows.append(order[start + row])
        columns.append(order[first + column])
        values.append(value)
        start = stop
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
        shape=(n_items, n_items),
        dtype=np.float32,
    )


def similar_subgroups(features: sp.csr_matrix, groups: np.ndarray, bound: int = MAX_GROUP) -> np.ndarray:
    """`groups` itself when no group has more than `bound` items; else labels (int64) that keep each group within the
    bound and split each larger one into sub-groups of at most `bound` similar items (deterministic)."""
    _, codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if sizes.max(initial=0) <= bound:
        return groups
    unit = unit_rows(features)
    labels = codes.astype(np.int64)
    next_label = len(sizes)
    for large in np.flatnonzero(sizes > bound):  # one pass per oversized group, not per item
        for part in _bounded_parts(unit, np.flatnonzero(codes == large), bound)[1:]:
            labels[part] = next_label
            next_label += 1
    return labels


def _bounded_parts(unit: sp.csr_matrix, members: np.ndarray, bound: int) -> list[np.ndarray]:
    """`members` (rows of `unit`, unit or empty rows) in parts of at most `bound`: seeded spherical k-means splits a
    part, its most similar clusters are merged while they fit, a cluster still too large is split again (cut by
    position where one keeps over 3/4 of its part); consecutive final clusters are packed up to the bound."""
    rng = np.random.default_rng(0)
    pending, clusters = [members], []
    while pending:
        part = pending.pop()
        if len(part) <= bound:
            clusters.append(part)
            continue
        label, sums = _spherical_kmeans(unit[part], _BRANCHES, rng)
        sizes = np.bincount(label, minlength=len(sums))
        if sizes.max() > 3 * len(part) // 4:  # (nearly) one direction: cut in cluster order
            pieces = np.array_split(part[np.argsort(label, kind="stable")], -(-len(part) // bound))
        else:
            label = _merged_clusters(sums, sizes, bound)[label]
            order = np.argsort(label, kind="stable")
            pieces = np.split(part[order], np.flatnonzero(np.diff(label[order])) + 1)
        pending.extend(reversed(pieces))
    sizes = np.array([len(cluster) for cluster in clusters])
    bins = _packed_bins(sizes, bound)
    return [np.concatenate(clusters[start:stop]) for start, stop in zip(bins[:-1], bins[1:])]


def _merged_clusters(sums: np.ndarray, sizes: np.ndarray, bound: int) -> np.ndarray:
    """Merged cluster of each cluster (rows of unit-row feature `sums`, `sizes` items): the pair with the highest mean
    cosine between their items (average linkage) whose items fit the bound merges, until no pair of positive mean
    cosine fits (a loop over clusters)."""
    sums, sizes, owner = sums.astype(np.float64), sizes.astype(np.int64), np.arange(len(sizes))
    while True:
        similarity = (sums @ sums.T) / np.maximum(np.outer(sizes, sizes), 1)
        fits = (sizes[:, None] + sizes[None, :] <= bound) & (sizes[:, None] > 0) & (sizes[None, :] > 0)
        similarity[~fits | np.eye(len(sizes), dtype=bool)] = 0
        first, second = np.unravel_index(np.argmax(similarity), similarity.shape)
        if similarity[first, second] <= 0:
            return owner
        sums[first] += sums[second]
        sizes[first] += sizes[second]
        sums[second], sizes[second] = 0, 0
        owner[owner == second] = first


def _packed_bins(sizes: np.ndarray, bound: int) -> list[int]:
    """Boundaries of consecutive runs of `sizes` (each at most `bound`) whose sums stay within `bound`."""
    bins, total = [0], 0
    for index, size in enumerate(sizes.tolist()):
        if total + size > bound:
            bins.append(index)
            total = 0
        total += size
    return [*bins, len(sizes)]


def _spherical_kmeans(unit: sp.csr_matrix, clusters: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cluster of each row of `unit` and each cluster's feature sum (dense) after `_KMEANS_ITERATIONS` rounds of
    spherical k-means from `clusters` distinct seeded rows (an empty cluster keeps its centroid)."""
    n_rows = unit.shape[0]
    centroids = unit[np.sort(rng.choice(n_rows, min(clusters, n_rows), replace=False))].toarray()
    for _ in range(_KMEANS_ITERATIONS):
        label = np.asarray(unit @ centroids.T).argmax(axis=1)
        member = sp.csr_matrix(
            (np.ones(n_rows, np.float32), (label, np.arange(n_rows))), shape=(len(centroids), n_rows)
        )
        sums = np.asarray((member @ unit).todense())
        lengths = np.linalg.norm(sums, axis=1)
        centroids = np.where(lengths[:, None] > 0, sums / np.where(lengths > 0, lengths, 1)[:, None], centroids)
    return label, sums


def _block_stop(start: int, group_start: np.ndarray, group_end: np.ndarray) -> int:
    """End of the block of (group-sorted) rows from `start`: at most `_NEIGHBOUR_BLOCK` rows, and rows x the columns of
    their groups within `_BLOCK_CELLS` (one row at least)."""
    stop = np.arange(start + 1, min(start + _NEIGHBOUR_BLOCK, len(group_start)) + 1)
    cells = (stop - start) * (group_end[stop - 1] - group_start[start])
    return int(stop[max(np.searchsorted(cells, _BLOCK_CELLS, "right") - 1, 0)])


def _block_neighbours(
    similarity: np.ndarray | sp.spmatrix, row_group: np.ndarray, column_group: np.ndarray, first: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) of each row's k largest positive cells of a block whose rows are its columns from `first`
    on, ties to the lower column; a cell of another group or of the row itself counts as 0."""
    if isinstance(similarity, np.ndarray):
        rows = np.arange(len(row_group))
        if column_group[0] != column_group[-1]:
            similarity[row_group[:, None] != column_group[None, :]] = 0
        similarity[rows, rows + first] = 0
        row, column = top_k_positive(similarity, k)
        return row, column, similarity[row, column]
    similarity = sp.csr_matrix(similarity)
    row = np.repeat(np.arange(len(row_group)), np.diff(similarity.indptr))
    other = (row_group[row] != column_group[similarity.indices]) | (row + first == similarity.indices)
    similarity.data[other | (similarity.data <= 0)] = 0
    similarity.eliminate_zeros()
    kept = top_k_per_row(similarity, k).tocoo()
    return kept.row.astype(np.int64), kept.col.astype(np.int64), kept.data


def tfidf(texts: np.ndarray, max_document_share: float = 0.5) -> sp.csr_matrix:
    """Items x tokens TF-IDF (log-scaled counts, smooth idf); tokens of one item or of more than
    `max_document_share` of the items with text are dropped."""
    starts = range(0, max(len(texts), 1), _TEXTS_PER_CHUNK)
    pair_item, tokens, count = (
        np.concatenate(part)
        for part in zip(*(_token_counts(texts[start : start + _TEXTS_PER_CHUNK], start) for start in starts))
    )
    token_code, vocabulary = pd.factorize(pd.Series(tokens, dtype=object))
    documents = np.bincount(token_code, minlength=len(vocabulary))
    with_text = max(int((np.char.str_len(texts.astype(str)) > 0).sum()), 1)
    idf = np.log((1 + with_text) / (1 + documents)) + 1
    keep = (documents >= 2) & (documents <= max(max_document_share * with_text, 1))
    term = (1 + np.log(count)) * idf[token_code]
    kept = keep[token_code]
    column = np.cumsum(keep) - 1
    return sp.csr_matrix(
        (term[kept], (pair_item[kept], column[token_code[kept]])),
        shape=(len(texts), int(keep.sum())),
        dtype=np.float32,
    )


def _token_counts(texts: np.ndarray, first_item: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item, token, count) of every distinct token of each text; items numbered from `first_item`."""
    one_line = pd.Series(texts, dtype="str").fillna("").str.replace("\n", " ", regex=False)
    codes, vocabulary = pd.factorize(pd.Series(_TOKEN_OR_BREAK.findall("\n".join(one_line).lower()), dtype=object))
    is_break = codes == (vocabulary.get_loc("\n") if "\n" in vocabulary else -1)
    item = np.cumsum(is_break)[~is_break]
    pairs, count = np.unique(item * len(vocabulary) + codes[~is_break], return_counts=True)
    pair_item, token_code = np.divmod(pairs, max(len(vocabulary), 1))
    return pair_item + first_item, vocabulary.to_numpy(dtype=object)[token_code], count
