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
from recsys_assets.ml.topk import best_per_row, top_k_per_row

TOKEN = re.compile(r"[^\W_]{2,}")

# A token or the line break that separates two items' texts in `tfidf`, which reads texts in chunks.
_TOKEN_OR_BREAK = re.compile(rf"{TOKEN.pattern}|\n")

_TEXTS_PER_CHUNK = 10_000

# Similarity rows computed together when keeping each item's nearest neighbours.
_NEIGHBOUR_BLOCK = 2048

# Feature matrices up to this many cells (float32) are multiplied densely in `cosine_neighbours`.
_DENSE_FEATURE_CELLS = 32 * 1024 * 1024


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
    category with `same_leaf_category`); users are scored from the binary matrix."""
    features = tfidf(data.item_text)
    groups = data.item_leaf_category if same_leaf_category else np.zeros(len(data.item_ids), dtype=np.int64)
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
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    unit = sp.csr_matrix(sp.diags(1 / np.where(norms > 0, norms, 1)) @ features, dtype=np.float32)
    n_items = unit.shape[0]
    dense_transposed = unit.T.toarray() if n_items * unit.shape[1] <= _DENSE_FEATURE_CELLS else None
    blocks = []
    for start in range(0, n_items, _NEIGHBOUR_BLOCK):
        stop = min(start + _NEIGHBOUR_BLOCK, n_items)
        if dense_transposed is not None:
            blocks.append(_top_k_dense(unit[start:stop] @ dense_transposed, k, start))
            continue
        similarity = sp.csr_matrix(unit[start:stop] @ unit.T)
        rows = np.repeat(np.arange(stop - start), np.diff(similarity.indptr))
        similarity.data[rows + start == similarity.indices] = 0
        similarity.eliminate_zeros()
        blocks.append(top_k_per_row(similarity, k))
    return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, 0), dtype=np.float32)


def grouped_cosine_neighbours(features: sp.csr_matrix, groups: np.ndarray, k: int) -> sp.csr_matrix:
    """`cosine_neighbours` within each group of items (equal labels in `groups`); no pair across groups."""
    n_items = features.shape[0]
    _, codes = np.unique(groups, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(int(codes.max(initial=-1)) + 2))
    rows, columns, values = (
        [np.zeros(0, dtype=np.int64)],
        [np.zeros(0, dtype=np.int64)],
        [np.zeros(0, dtype=np.float32)],
    )
    for start, stop in zip(bounds[:-1], bounds[1:]):
        members = order[start:stop]
        similarity = cosine_neighbours(features[members], k).tocoo()
        rows.append(members[similarity.row])
        columns.append(members[similarity.col])
        values.append(similarity.data)
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
        shape=(n_items, n_items),
        dtype=np.float32,
    )


def _top_k_dense(similarity: np.ndarray, k: int, first_row: int) -> sp.csr_matrix:
    """The k largest positive off-diagonal cells of each row of a dense block, as CSR."""
    rows = np.arange(len(similarity))
    similarity[rows, rows + first_row] = 0
    best, values = best_per_row(similarity, k)
    keep = values > 0
    return sp.csr_matrix(
        (values[keep], (np.broadcast_to(rows[:, None], best.shape)[keep], best[keep])), shape=similarity.shape
    )


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
