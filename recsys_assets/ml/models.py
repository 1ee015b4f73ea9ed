"""Recommendation models behind one interface, by name: the candidates `recsys evaluate` compares.

Every model fits on `TrainingData` (users x items matrix of positive EVENT_VALUEs, plus each
item's metadata text) and scores every item for given rows of that matrix. The item-item models
(item-kNN, EASE, content, hybrid) score user u's item i as sum_j value(u, j) * S[j, i], so the
liked item j with the largest term is exactly the item that drove the score (the hybrid's
value(u, j) is j's recency weight in u's history, and its S includes item-to-next-item transitions).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from recsys_assets.ml.als import encode_opinions
from recsys_assets.ml.sequence import newest_share, recency_matrix, transitions

TOKEN = re.compile(r"[^\W_]{2,}")
# A token or the line break that separates two items' texts in `tfidf`, which reads texts in chunks.
_TOKEN_OR_BREAK = re.compile(rf"{TOKEN.pattern}|\n")
_TEXTS_PER_CHUNK = 10_000
# Similarity rows computed together when keeping each item's nearest neighbours.
_NEIGHBOUR_BLOCK = 2048
# Feature matrices up to this many cells (float32) are multiplied densely in `cosine_neighbours`.
_DENSE_FEATURE_CELLS = 32 * 1024 * 1024


@dataclass(frozen=True)
class TrainingData:
    """Positive (user, item) values (latest opinion per pair) and the items' metadata text.

    `timestamp` holds each stored cell's TIMESTAMP, aligned with `matrix.data` (canonical CSR).
    `history_only` rows (test users, in an evaluation) are histories to recommend from that no
    model learns from: fits learn from `learning_part`, as Personalize trains on its training
    users only.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    matrix: sp.csr_matrix
    item_text: np.ndarray
    seen: sp.csr_matrix = field(repr=False)
    item_leaf_category: np.ndarray = field(repr=False)
    timestamp: np.ndarray = field(repr=False)
    history_only: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    @cached_property
    def learning_part(self) -> TrainingData:
        """The same users and items without the `history_only` rows' likes: what models learn from."""
        if not len(self.history_only):
            return self
        keep = ~np.isin(self.entry_user, self.history_only)
        matrix = _csr_by_user(
            self.entry_user[keep], self.matrix.indices[keep], self.matrix.data[keep], self.matrix.shape
        )
        return replace(self, matrix=matrix, timestamp=self.timestamp[keep], history_only=np.zeros(0, dtype=np.int64))

    @property
    def popularity(self) -> np.ndarray:
        """Users with a positive opinion of each item."""
        return np.bincount(self.matrix.indices, minlength=len(self.item_ids))

    @property
    def entry_user(self) -> np.ndarray:
        """The row (user code) of each stored cell of `matrix`."""
        return np.repeat(np.arange(self.matrix.shape[0]), np.diff(self.matrix.indptr))

    def recency(self, half_life: float | None) -> sp.csr_matrix:
        """`matrix`'s pattern with each user's liked items weighted by their recency (`sequence.recency_matrix`)."""
        return recency_matrix(self.entry_user, self.matrix.indices, self.timestamp, self.matrix.shape, half_life)


def item_texts(item_ids: np.ndarray, items: pd.DataFrame) -> np.ndarray:
    """Every metadata column but ITEM_ID joined into one text per item ("" when unknown)."""
    columns = [c for c in items.columns if c != "ITEM_ID"]
    by_item = items.drop_duplicates("ITEM_ID", keep="last").set_index("ITEM_ID")[columns].astype("str").fillna("")
    if columns:
        text = by_item[columns[0]].str.cat([by_item[column] for column in columns[1:]], sep=" ")
    else:
        text = pd.Series("", index=by_item.index)
    return text.reindex(pd.Index(item_ids)).fillna("").to_numpy(dtype=str)


def leaf_categories(item_ids: np.ndarray, items: pd.DataFrame) -> np.ndarray:
    """Last level of each item's CATEGORY_PATH (else CATEGORY): "A|B|Kettles" -> "Kettles"; "" when unknown."""
    column = next((c for c in ("CATEGORY_PATH", "CATEGORY") if c in items.columns), None)
    if column is None:
        return np.full(len(item_ids), "", dtype=str)
    by_item = items.drop_duplicates("ITEM_ID", keep="last").set_index("ITEM_ID")[column].astype("str")
    return by_item.str.split("|").str[-1].reindex(pd.Index(item_ids)).fillna("").to_numpy(dtype=str)


def training_data(
    interactions: pd.DataFrame, items: pd.DataFrame | None, min_positive_value: float = 0.0
) -> TrainingData:
    """Matrices of the interactions; the item universe is the items file plus every reviewed item."""
    items = items if items is not None else pd.DataFrame({"ITEM_ID": pd.Series(dtype="str")})
    user_ids, item_ids, opinions = encode_opinions(interactions, items, min_positive_value)
    shape = (len(user_ids), len(item_ids))
    liked = opinions.positive
    matrix = _csr_by_user(opinions.user[liked], opinions.item[liked], opinions.value[liked].astype(np.float32), shape)
    seen = sp.csr_matrix((np.ones(len(opinions.user), dtype=bool), (opinions.user, opinions.item)), shape=shape)
    return TrainingData(
        user_ids,
        item_ids,
        matrix,
        item_texts(item_ids, items),
        seen,
        leaf_categories(item_ids, items),
        opinions.timestamp[liked],
    )


def _csr_by_user(user: np.ndarray, item: np.ndarray, value: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """CSR of entries already sorted by user then item, stored in that order (arrays aligned with them stay aligned)."""
    indptr = np.concatenate([[0], np.cumsum(np.bincount(user, minlength=shape[0]))])
    return sp.csr_matrix((value, item, indptr), shape=shape)


class Scorer(Protocol):
    """A fitted model: dense scores (rows x items) for rows of the training matrix.

    Lists leave out the items a user already reviewed, unless the scorer says `recommends_seen`.
    """

    def scores(self, rows: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ItemSimilarityScorer:
    """Scores = history @ similarity (item x item, sparse or dense)."""

    history: sp.csr_matrix
    similarity: sp.csr_matrix | np.ndarray

    def scores(self, rows: np.ndarray) -> np.ndarray:
        product = self.history[rows] @ self.similarity
        return np.asarray(product.toarray() if sp.issparse(product) else product, dtype=np.float32)


@dataclass(frozen=True)
class PopularityScorer:
    """Every user gets the item popularity counts; `recommends_seen`: reviewed items stay in the lists."""

    popularity: np.ndarray
    recommends_seen: bool = False

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity.astype(np.float32), (len(rows), len(self.popularity))).copy()


@dataclass(frozen=True)
class FactorScorer:
    """Scores = user factors @ item factors.T."""

    user_factors: np.ndarray
    item_factors: np.ndarray

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors[rows] @ self.item_factors.T


@dataclass(frozen=True)
class HybridScorer:
    """Collaborative + transition scores plus content scores weighted by weight / (liked items) ** decay.

    The collaborative and content scorers share one (recency-weighted) history; `sequence` is
    the already weighted item x item transition matrix.
    """

    collaborative: EaseScorer
    content: ItemSimilarityScorer
    sequence: sp.csr_matrix
    weight: float
    decay: float

    def scores(self, rows: np.ndarray) -> np.ndarray:
        history = self.collaborative.history[rows]
        liked = np.maximum(np.diff(history.indptr), 1)
        content_weight = (self.weight / liked.astype(np.float32) ** self.decay)[:, None]
        sequence = np.asarray((history @ self.sequence).toarray(), dtype=np.float32)
        return self.collaborative.scores(rows) + sequence + content_weight * self.content.scores(rows)


def top_k_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's k largest stored values (ties: lower column)."""
    matrix = sp.csr_matrix(matrix)
    matrix.sum_duplicates()
    row = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -matrix.data, row))
    rank = np.arange(len(order)) - matrix.indptr[row[order]]
    keep = order[rank < k]
    return sp.csr_matrix((matrix.data[keep], (row[keep], matrix.indices[keep])), shape=matrix.shape)


def cosine_neighbours(features: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Item x item cosine of the feature rows, each row cut to its k most similar other items.

    Rows are done in blocks. When the features fit densely, a sparse block times the dense
    transposed features gives a dense block (sparse x sparse is slow when many items share
    features); otherwise the product is sparse.
    """
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
    k = min(k, similarity.shape[1])
    best = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(similarity, best, axis=1)
    keep = values > 0
    return sp.csr_matrix(
        (values[keep], (np.broadcast_to(rows[:, None], best.shape)[keep], best[keep])), shape=similarity.shape
    )


def tfidf(texts: np.ndarray, max_document_share: float = 0.5) -> sp.csr_matrix:
    """Items x tokens TF-IDF (log-scaled counts, smooth idf); tokens in most items are dropped.

    Tokens are lower-cased runs of two or more letters or digits ("Home&Kitchen|Mixers" ->
    home, kitchen, mixers). A token of one item relates it to nothing, and one in more than
    `max_document_share` of the items with text carries no signal: both are dropped.
    """
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
    """(item, token, count) of every distinct token of each text; items numbered from `first_item`.

    One regex pass over the texts joined by line breaks (fast and lean next to per-text token
    lists); the breaks number the items.
    """
    one_line = pd.Series(texts, dtype="str").fillna("").str.replace("\n", " ", regex=False)
    codes, vocabulary = pd.factorize(pd.Series(_TOKEN_OR_BREAK.findall("\n".join(one_line).lower()), dtype=object))
    is_break = codes == (vocabulary.get_loc("\n") if "\n" in vocabulary else -1)
    item = np.cumsum(is_break)[~is_break]
    pairs, count = np.unique(item * len(vocabulary) + codes[~is_break], return_counts=True)
    pair_item, token_code = np.divmod(pairs, max(len(vocabulary), 1))
    return pair_item + first_item, vocabulary.to_numpy(dtype=object)[token_code], count


def fit_popularity(data: TrainingData, recommends_seen: bool = True) -> Scorer:
    """Personalize's popularity-count: the same most-reviewed items for everyone, reviewed ones included.

    With `recommends_seen=False` ("popularity-unseen") each user's list skips what they reviewed,
    the rule every other model follows.
    """
    return PopularityScorer(data.learning_part.popularity, recommends_seen)


def fit_item_knn(data: TrainingData, neighbours: int = 100, binary: bool = True) -> ItemSimilarityScorer:
    """Item-kNN: cosine between item columns of the user-item matrix, top `neighbours` per item."""
    learned, history = (data.learning_part.matrix, data.matrix)
    if binary:
        learned, history = _binary(learned), _binary(history)
    return ItemSimilarityScorer(history, cosine_neighbours(sp.csr_matrix(learned.T), neighbours))


def most_popular_items(data: TrainingData, max_items: int) -> np.ndarray:
    """Codes (sorted) of the `max_items` most popular items with a positive opinion (ties: lower code)."""
    kept = np.sort(np.argsort(-data.popularity, kind="stable")[:max_items])
    return kept[data.popularity[kept] > 0]


def ease_from_gram(gram: np.ndarray, regularization: float) -> np.ndarray:
    """EASE (Steck 2019): B = I - P diagMat(1 / diag(P)), P = (G + lambda I)^-1, zero diagonal."""
    regularized = gram.astype(np.float64)
    regularized[np.diag_indices_from(regularized)] += regularization
    with threadpool_limits(limits=1, user_api="blas"):
        inverse = np.linalg.inv(regularized)
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return weights.astype(np.float32)


def ease_weights(
    data: TrainingData, regularization: float = 300.0, max_items: int = 3000, per_mean_count: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """EASE on binary X over the `max_items` most popular items: their codes and B over them.

    The dense item x item inverse is what limits the item count (36 MB at the default). With
    `per_mean_count`, lambda = regularization x the kept items' mean positive count, so one
    setting fits small dense and large sparse data alike.
    """
    kept = most_popular_items(data, max_items)
    columns = _binary(data.matrix)[:, kept]
    gram = (columns.T @ columns).toarray()
    scale = float(np.diag(gram).mean()) if per_mean_count and len(kept) else 1.0
    return kept, ease_from_gram(gram, regularization * scale)


@dataclass(frozen=True)
class HybridSettings:
    """What `validated_settings` picks for the hybrid.

    regularization: EASE's lambda per mean item count. half_life: recency half-life in liked
    items (None: the order of a history is ignored). sequence: weight of the transitions
    relative to EASE (the factor matching their typical row maxima is applied on top; 0: none).
    """

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
    """The hybrid's settings that best rank items hidden from training users, fitted without them.

    Up to `max_users` users with two or more liked items among the `max_items` most popular
    (seeded draw) take part. Lambda (per mean item count of the `ease_items` the final model
    keeps): each user hides one random liked item, order left aside, and the best mean NDCG@10
    wins (ties: the strongest). Recency and transitions: the users, in `folds` groups, hide
    their newest 10% (at least one) as Personalize's split does, and each group's users are
    histories only, as Personalize's test users are: the model that ranks for them learned from
    everyone else. The simplest candidate within one standard error of the best wins
    (`simplest_within_one_standard_error`); no recency and no transitions count as simplest, so
    order only counts where it measurably predicts. Cheap, so it runs at fit time. With fewer
    than `min_users` such users the choice is noise and `fallback` is used.
    """
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
        _hidden_ndcg(plain, plain @ ease_from_gram(gram, value * mean_count), hidden) for value in strongest_first
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
    """NDCG@10 (half-life x weight rows, `group` users columns) of the group's `newest` likes.

    The group's users are histories only: EASE and the transitions learn from everyone else's
    likes (user, item, timestamp, newest: entries sorted by user).
    """
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
            _hidden_ndcg(history, collaborative + weight * scale * transition, hidden) for weight in sequence_weights
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
    """Without the `hide` entries: the `users`' binary rows, their hidden items (dense boolean) and the item Gram matrix."""
    rest = sp.csr_matrix((np.ones(int((~hide).sum()), dtype=np.float32), (user[~hide], item[~hide])), shape=shape)
    hidden = sp.csr_matrix((np.ones(int(hide.sum()), dtype=bool), (user[hide], item[hide])), shape=shape)[
        users
    ].toarray()
    return rest[users], hidden, (rest.T @ rest).toarray()


def simplest_within_one_standard_error(per_user: np.ndarray) -> int:
    """First candidate (row) whose mean is within one standard error of the best one's.

    The standard error is that of the per-user differences to the best candidate, so a more
    complex setting is only chosen when it beats the simpler ones by more than noise.
    """
    best = int(np.argmax(per_user.mean(axis=1)))
    differences = per_user[best] - per_user
    standard_error = (
        differences.std(axis=1, ddof=1) / np.sqrt(max(per_user.shape[1], 1)) if per_user.shape[1] > 1 else 0
    )
    return int(np.flatnonzero(differences.mean(axis=1) <= standard_error)[0])


def _hidden_ndcg(history: sp.csr_matrix, scores: np.ndarray, hidden: np.ndarray, k: int = 10) -> np.ndarray:
    """Per-row NDCG@k of the `hidden` (boolean rows x items) items when ranking unseen items by `scores`."""
    scores = np.array(scores, dtype=np.float64)
    scores[history.nonzero()] = -np.inf
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable"), axis=1)
    discount = 1 / np.log2(np.arange(2, k + 2))
    gain = (np.take_along_axis(hidden, top, axis=1) * discount).sum(axis=1)
    ideal = np.cumsum(discount)[np.clip(hidden.sum(axis=1), 1, k) - 1]
    return gain / ideal


def sequence_scale(ease: np.ndarray, sequence: sp.csr_matrix) -> float:
    """Factor bringing the transitions' mean row maximum to EASE's (1 when either is empty)."""
    ease_max = ease.max(axis=1, initial=0.0)
    sequence_max = sequence.max(axis=1).toarray().ravel() if sequence.nnz else np.zeros(0)
    ease_max, sequence_max = ease_max[ease_max > 0], sequence_max[sequence_max > 0]
    if not len(ease_max) or not len(sequence_max):
        return 1.0
    return float(ease_max.mean() / sequence_max.mean())


@dataclass(frozen=True)
class EaseScorer:
    """EASE weights among the `kept` items plus a sparse item x item similarity for other pairs.

    scores = history @ others, and history[:, kept] @ ease added on the kept columns; `others`
    holds no kept x kept pair, so every (liked, candidate) pair has exactly one weight.
    """

    history: sp.csr_matrix
    kept: np.ndarray
    ease: np.ndarray
    others: sp.csr_matrix

    def scores(self, rows: np.ndarray) -> np.ndarray:
        history = self.history[rows]
        scores = np.asarray((history @ self.others).toarray(), dtype=np.float32)
        scores[:, self.kept] += history[:, self.kept] @ self.ease
        return scores


def fit_ease(
    data: TrainingData,
    regularization: float = 300.0,
    max_items: int = 3000,
    per_mean_count: bool = False,
    tail_neighbours: int = 0,
    tail_weight: float = 1.0,
    history: sp.csr_matrix | None = None,
) -> EaseScorer:
    """EASE over the `max_items` most popular items; other items get item-kNN scores or none.

    With `tail_neighbours` > 0, every pair with an item outside the EASE items is scored by
    `tail_weight` x the item-kNN cosine (top `tail_neighbours` per item); otherwise they get nothing.
    Users are scored from `history` (default: the binary matrix).
    """
    learning = data.learning_part
    kept, weights = ease_weights(learning, regularization, max_items, per_mean_count)
    n_items = len(data.item_ids)
    others = sp.csr_matrix((n_items, n_items), dtype=np.float32)
    if tail_neighbours > 0 and len(kept) < np.count_nonzero(learning.popularity):
        neighbours = cosine_neighbours(sp.csr_matrix(_binary(learning.matrix).T), tail_neighbours).tocoo()
        in_kept = np.zeros(n_items, dtype=bool)
        in_kept[kept] = True
        outside = ~(in_kept[neighbours.row] & in_kept[neighbours.col])
        others = sp.csr_matrix(
            (tail_weight * neighbours.data[outside], (neighbours.row[outside], neighbours.col[outside])),
            shape=(n_items, n_items),
            dtype=np.float32,
        )
    return EaseScorer(_binary(data.matrix) if history is None else history, kept, weights, others)


def fit_als(
    data: TrainingData, factors: int = 32, regularization: float = 5.0, alpha: float = 2.0, iterations: int = 15
) -> Scorer:
    """Implicit ALS (confidence 1 + alpha * EVENT_VALUE), seeded; `history_only` users' factors are folded in."""
    with threadpool_limits(limits=1, user_api="blas"):
        als = AlternatingLeastSquares(
            factors=factors, regularization=regularization, alpha=alpha, iterations=iterations, random_state=42
        )
        als.fit(data.learning_part.matrix, show_progress=False)
        user_factors = np.array(als.user_factors)
        if len(data.history_only):
            user_factors[data.history_only] = als.recalculate_user(data.history_only, data.matrix[data.history_only])
    return FactorScorer(user_factors, np.asarray(als.item_factors))


def fit_content(
    data: TrainingData, neighbours: int = 100, same_leaf_category: bool = True, history: sp.csr_matrix | None = None
) -> ItemSimilarityScorer:
    """Content kNN: cosine of the items' metadata TF-IDF, top `neighbours` per item.

    With `same_leaf_category`, an item's neighbours are drawn from its own leaf category only
    (items without one form one group), so the cost grows with the sum of squared category sizes
    rather than the squared catalog size. Users are scored from `history` (default: binary matrix).
    """
    features = tfidf(data.item_text)
    groups = data.item_leaf_category if same_leaf_category else np.zeros(len(data.item_ids), dtype=np.int64)
    history = _binary(data.matrix) if history is None else history
    return ItemSimilarityScorer(history, grouped_cosine_neighbours(features, groups, neighbours))


def fit_sequence(
    data: TrainingData, kept: np.ndarray, ease: np.ndarray, weight: float, neighbours: int = 100
) -> sp.csr_matrix:
    """Transitions of the training histories, top `neighbours` per item, times weight x `sequence_scale`."""
    n_items = len(data.item_ids)
    if weight == 0:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    sequence = top_k_per_row(transitions(data.entry_user, data.matrix.indices, data.timestamp, n_items), neighbours)
    return sp.csr_matrix(sequence * (weight * sequence_scale(ease, sequence[kept][:, kept])), dtype=np.float32)


def fit_hybrid(
    data: TrainingData,
    neighbours: int = 100,
    content_weight: float = 0.003,
    decay: float = 2.0,
    settings: HybridSettings | None = None,
    max_items: int = 3000,
    tail_weight: float = 0.001,
    same_leaf_category: bool = True,
) -> HybridScorer:
    """EASE (item-kNN beyond its items) + transitions, on a recency-weighted history, plus content kNN.

    `settings` (None: `validated_settings` on the training users) give EASE's lambda, the
    recency half-life and the transitions' weight. Content is weighted content_weight /
    liked**decay: the small default makes content order what the collaborative part leaves
    (nearly) unscored, which is most of a one- or two-review user's catalog, and barely moves
    long histories; the tiny default tail weight does the same for items beyond EASE's
    `max_items` (0.1 cut MovieLens NDCG@10 from 0.091 to 0.059: rare items' cosines are noise).
    """
    learning = data.learning_part
    settings = validated_settings(learning, ease_items=max_items) if settings is None else settings
    history = data.recency(settings.half_life)
    collaborative = fit_ease(learning, settings.regularization, max_items, True, neighbours, tail_weight, history)
    sequence = fit_sequence(learning, collaborative.kept, collaborative.ease, settings.sequence, neighbours)
    content = fit_content(data, neighbours, same_leaf_category, history)
    return HybridScorer(collaborative, content, sequence, content_weight, decay)


def _binary(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """1 where a value is stored."""
    binary = matrix.copy()
    binary.data = np.ones_like(binary.data)
    return binary


@dataclass(frozen=True)
class ModelSpec:
    """A named model: its fit function, default parameters and the grid tuned on validation users."""

    fit: Callable[..., Scorer]
    params: dict = field(default_factory=dict)
    grid: tuple[dict, ...] = ()


DEFAULT_MODEL = "hybrid"
MODELS: dict[str, ModelSpec] = {
    "popularity-count": ModelSpec(fit_popularity),
    "popularity-unseen": ModelSpec(fit_popularity, {"recommends_seen": False}),
    "item-knn": ModelSpec(fit_item_knn, {}, tuple({"neighbours": k} for k in (20, 50, 100, 200))),
    "als": ModelSpec(
        fit_als,
        {},
        tuple({"factors": f, "regularization": r} for f in (32, 64) for r in (1.0, 5.0, 20.0)),
    ),
    "ease": ModelSpec(fit_ease, {}, tuple({"regularization": r} for r in (10.0, 30.0, 100.0, 300.0, 1000.0))),
    "content": ModelSpec(
        fit_content,
        {},
        tuple({"neighbours": k, "same_leaf_category": leaf} for k in (20, 100) for leaf in (True, False)),
    ),
    "hybrid": ModelSpec(
        fit_hybrid,
        {},
        tuple({"content_weight": w, "decay": d} for w in (0.001, 0.003, 0.01, 0.1) for d in (1.0, 2.0)),
    ),
}
