"""Implicit-feedback ALS recommender with a category-aware popularity fallback.

Interactions follow the Amazon Personalize layout (USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE,
EVENT_VALUE). Only a (user, item) pair whose latest EVENT_VALUE is above
``RecommenderParams.min_positive_value`` is a positive signal: it trains the ALS model, counts
towards item popularity and favourite categories, and may be cited as a reason. Every reviewed
item, positive or not, is excluded from that user's recommendations.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

RECOMMENDATION_COLUMNS = (
    "USER_ID",
    "RANK",
    "ITEM_ID",
    "SCORE",
    "SOURCE",
    "REASON_ITEM_ID",
    "REASON_CATEGORY",
)
NO_CATEGORY = ""
# Items per selection block when picking the top-N of a score row (see `_top_n_per_row`).
_SELECTION_BLOCK = 64
# Upper bound on one users x items score buffer, in float32 cells (64 MiB).
_SCORE_BUFFER_CELLS = 16 * 1024 * 1024
# Users scored together by one thread.
_USERS_PER_CHUNK = 4096
_ARRAYS_FILE = "arrays.npz"
_PARAMS_FILE = "params.json"


@dataclass(frozen=True)
class RecommenderParams:
    """Hyper-parameters of the implicit ALS model.

    Defaults were picked by NDCG@10 on validation splits of MovieLens-small's training users
    (ratings >= 3.5 positive): low alpha (0.5-2) beat 20 clearly, 32 factors matched 64 at half
    the cost. alpha = 2 keeps positive confidence >= 1 for sentiment values >= 0.5.
    """

    factors: int = 32
    regularization: float = 5.0
    alpha: float = 2.0
    iterations: int = 15
    random_state: int = 42
    min_positive_value: float = 0.0


class TrainedOnCatalog:
    """What every local model can say of itself: how many users and items it was trained on."""

    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def trained_users(self) -> int:
        return len(self.user_ids)

    @property
    def trained_items(self) -> int:
        return len(self.item_ids)


@dataclass(eq=False)
class TrainedRecommender(TrainedOnCatalog):
    """ALS factors plus what the popularity fallback needs; rows follow the sorted id arrays."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    item_popularity: np.ndarray
    item_categories: np.ndarray
    params: RecommenderParams

    def save(self, directory: Path) -> None:
        """Write the model as ``arrays.npz`` + ``params.json`` (no pickle)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(
            directory / _ARRAYS_FILE,
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            user_factors=self.user_factors,
            item_factors=self.item_factors,
            item_popularity=self.item_popularity,
            item_categories=self.item_categories,
        )
        (directory / _PARAMS_FILE).write_text(json.dumps(asdict(self.params), indent=2))

    @classmethod
    def load(cls, directory: Path) -> TrainedRecommender:
        """Read a model written by `save`."""
        directory = Path(directory)
        params = RecommenderParams(**json.loads((directory / _PARAMS_FILE).read_text()))
        with np.load(directory / _ARRAYS_FILE, allow_pickle=False) as arrays:
            return cls(**{name: arrays[name] for name in arrays.files}, params=params)


@dataclass(frozen=True)
class Opinions:
    """Latest EVENT_VALUE (and its TIMESTAMP) of each (user, item) pair, as codes sorted by user then item."""

    user: np.ndarray
    item: np.ndarray
    value: np.ndarray
    positive: np.ndarray
    timestamp: np.ndarray


def latest_opinions(
    user_codes: np.ndarray,
    item_codes: np.ndarray,
    timestamps: np.ndarray,
    values: np.ndarray,
    min_positive_value: float,
) -> Opinions:
    """Keep each pair's newest interaction (ties: the later row) and flag the positive ones."""
    order = np.lexsort((np.arange(len(timestamps)), timestamps, item_codes, user_codes))
    user, item = user_codes[order], item_codes[order]
    is_latest = np.ones(len(order), dtype=bool)
    is_latest[:-1] = (user[1:] != user[:-1]) | (item[1:] != item[:-1])
    value = values[order][is_latest]
    return Opinions(user[is_latest], item[is_latest], value, value > min_positive_value, timestamps[order][is_latest])


def encode_opinions(
    interactions: pd.DataFrame, items: pd.DataFrame, min_positive_value: float
) -> tuple[np.ndarray, np.ndarray, Opinions]:
    """Sorted user ids, sorted item ids (the catalog plus every reviewed item) and the `latest_opinions` as their codes."""
    user_ids, user_codes = np.unique(interactions["USER_ID"].to_numpy(dtype=str), return_inverse=True)
    reviewed = interactions["ITEM_ID"].to_numpy(dtype=str)
    item_ids = np.unique(np.concatenate([items["ITEM_ID"].to_numpy(dtype=str), reviewed]))
    opinions = latest_opinions(
        user_codes,
        np.searchsorted(item_ids, reviewed),
        interactions["TIMESTAMP"].to_numpy(dtype=np.int64),
        interactions["EVENT_VALUE"].to_numpy(dtype=np.float32),
        min_positive_value,
    )
    return user_ids, item_ids, opinions


def categories_of(item_ids: np.ndarray, items: pd.DataFrame) -> np.ndarray:
    """CATEGORY per item id, NO_CATEGORY where the catalog does not know it."""
    by_item = items.drop_duplicates("ITEM_ID").set_index("ITEM_ID")["CATEGORY"]
    return by_item.reindex(pd.Index(item_ids)).fillna(NO_CATEGORY).to_numpy(dtype=str)


def train_recommender(
    interactions: pd.DataFrame,
    items: pd.DataFrame,
    params: RecommenderParams = RecommenderParams(),
) -> TrainedRecommender:
    """Fit implicit ALS on the positive (user, item) opinions and count item popularity.

    The item universe is the catalog plus any item seen in `interactions`.
    """
    user_ids, item_ids, opinions = encode_opinions(interactions, items, params.min_positive_value)
    liked = opinions.positive
    confidence = sp.csr_matrix(
        (opinions.value[liked], (opinions.user[liked], opinions.item[liked])),
        shape=(len(user_ids), len(item_ids)),
        dtype=np.float32,
    )
    with threadpool_limits(limits=1, user_api="blas"):
        als = AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=params.alpha,
            iterations=params.iterations,
            random_state=params.random_state,
        )
        als.fit(confidence, show_progress=False)
    return TrainedRecommender(
        user_ids=user_ids,
        item_ids=item_ids,
        user_factors=np.asarray(als.user_factors, dtype=np.float32),
        item_factors=np.asarray(als.item_factors, dtype=np.float32),
        item_popularity=np.bincount(opinions.item[liked], minlength=len(item_ids)),
        item_categories=categories_of(item_ids, items),
        params=params,
    )


@dataclass(frozen=True)
class Request:
    """Users asking for recommendations (codes = positions in `user_ids`) and their history."""

    user_ids: np.ndarray
    model_user: np.ndarray
    opinions: Opinions
    favourite_category: np.ndarray


def _favourite_categories(opinions: Opinions, item_category: np.ndarray, n_users: int) -> np.ndarray:
    """Most frequent category code among each user's positive items (ties: lowest code), -1 if none."""
    liked = opinions.positive & (item_category[opinions.item] >= 0)
    pairs, counts = np.unique(
        np.stack([opinions.user[liked], item_category[opinions.item[liked]]]), axis=1, return_counts=True
    )
    users, categories = pairs
    order = np.lexsort((categories, -counts, users))
    first = order[np.r_[True, users[order][1:] != users[order][:-1]]] if len(order) else order
    favourite = np.full(n_users, -1, dtype=np.int64)
    favourite[users[first]] = categories[first]
    return favourite


def _prepare_request(
    model: TrainedRecommender,
    interactions: pd.DataFrame,
    user_ids: pd.Series | np.ndarray | list[str],
    category_codes: np.ndarray,
) -> Request:
    """Map requested users and their known-item history onto integer codes."""
    requested = pd.unique(pd.Series(user_ids, dtype="str")).to_numpy(dtype=str)
    request_index = pd.Index(requested)
    user_codes = request_index.get_indexer(interactions["USER_ID"])
    item_codes = pd.Index(model.item_ids).get_indexer(interactions["ITEM_ID"])
    known = (user_codes >= 0) & (item_codes >= 0)
    opinions = latest_opinions(
        user_codes[known],
        item_codes[known],
        interactions["TIMESTAMP"].to_numpy(dtype=np.int64)[known],
        interactions["EVENT_VALUE"].to_numpy(dtype=np.float32)[known],
        model.params.min_positive_value,
    )
    return Request(
        user_ids=requested,
        model_user=pd.Index(model.user_ids).get_indexer(request_index),
        opinions=opinions,
        favourite_category=_favourite_categories(opinions, category_codes, len(requested)),
    )


@dataclass(frozen=True)
class Picks:
    """Recommended (request user, item) codes of one source, `position` = order within the source."""

    user: np.ndarray
    item: np.ndarray
    score: np.ndarray
    position: np.ndarray
    reason_item: np.ndarray
    reason_category: np.ndarray
    source: str


def _category_codes(model: TrainedRecommender) -> tuple[np.ndarray, np.ndarray]:
    """Sorted category names and each item's code into them (-1 = no category)."""
    categories = model.item_categories
    names = np.unique(categories[categories != NO_CATEGORY])
    codes = np.where(categories != NO_CATEGORY, np.searchsorted(names, categories), -1)
    return names, codes


def _top_n_per_row(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of each row's n best scores, best first (ties: lower column).

    Columns are split into `_SELECTION_BLOCK` strided blocks; a row's n best cells lie in its
    n blocks with the highest maxima, so only those blocks are sorted (exact, and much cheaper
    than partitioning every full row). `scores.shape[1]` must be a multiple of the block size.
    """
    rows, columns = scores.shape
    n_blocks = columns // _SELECTION_BLOCK
    if n_blocks > n:
        block_best = scores.reshape(rows, _SELECTION_BLOCK, n_blocks).max(axis=1)
        blocks = np.argpartition(block_best, -n, axis=1)[:, -n:]
        candidates = (blocks[:, :, None] + n_blocks * np.arange(_SELECTION_BLOCK)).reshape(rows, -1)
    else:
        candidates = np.broadcast_to(np.arange(columns), scores.shape)
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    best = np.lexsort((candidates, -candidate_scores), axis=1)[:, :n]
    return np.take_along_axis(candidates, best, axis=1), np.take_along_axis(candidate_scores, best, axis=1)


def concatenate(arrays: list[np.ndarray]) -> np.ndarray:
    """np.concatenate that also accepts an empty list (giving an empty integer array)."""
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)


def rows_of(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in `rows`, column) of every stored cell of the selected CSR rows."""
    counts = np.diff(matrix.indptr)[rows]
    starts = np.repeat(matrix.indptr[rows] - np.cumsum(counts) + counts, counts)
    return np.repeat(np.arange(len(rows)), counts), matrix.indices[starts + np.arange(counts.sum())]


def _reason_items(
    user: np.ndarray, item: np.ndarray, liked: sp.csr_matrix, unit_item_factors: np.ndarray
) -> np.ndarray:
    """For each recommended (user, item), the user's liked item with the most similar factors."""
    entry, candidate = rows_of(liked, user)
    similarity = np.einsum("ij,ij->i", unit_item_factors[item[entry]], unit_item_factors[candidate])
    order = np.lexsort((candidate, -similarity, entry))
    counts = np.diff(liked.indptr)[user]
    return candidate[order[np.cumsum(counts) - counts]]


def pair_matrix(user: np.ndarray, column: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Boolean CSR marking the given (user, column) pairs."""
    return sp.csr_matrix((np.ones(len(user), dtype=bool), (user, column)), shape=shape)


@dataclass(frozen=True)
class _ItemsByNorm:
    """Scorable items (those with positive reviews) by descending factor norm (ties: item code).

    `factors` is zero-padded to whole selection blocks; `norms` has one trailing zero more, so
    `norms[c]` bounds the norm of every column from c on.
    """

    item: np.ndarray
    factors: np.ndarray
    norms: np.ndarray


def _items_by_norm(model: TrainedRecommender) -> _ItemsByNorm:
    """Order the scorable items for `_best_columns`."""
    scorable = np.flatnonzero(model.item_popularity > 0)
    norms = np.linalg.norm(model.item_factors[scorable], axis=1)
    order = np.lexsort((scorable, -norms))
    padded = -(-len(scorable) // _SELECTION_BLOCK) * _SELECTION_BLOCK
    factors = np.zeros((padded, model.item_factors.shape[1]), dtype=np.float32)
    factors[: len(scorable)] = model.item_factors[scorable[order]]
    return _ItemsByNorm(scorable[order], factors, np.r_[norms[order], np.zeros(padded + 1 - len(scorable))])


def _best_columns(
    user_factors: np.ndarray,
    items: _ItemsByNorm,
    seen_row: np.ndarray,
    seen_column: np.ndarray,
    n: int,
    first_block: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact n best unseen columns of `items` per user row, best first (ties: lower item code).

    Columns are scored in growing blocks; a user stops as soon as its n-th best score beats
    |user| * |next item| (Cauchy-Schwarz bound on every remaining column). ALS item norms
    fall steeply with popularity, so most users stop after the first block or two.
    Missing picks (fewer than n unseen items) have column -1 and score -inf.
    """
    rows, n_items = len(user_factors), len(items.item)
    best_columns = np.full((rows, n), -1)
    best_scores = np.full((rows, n), -np.inf, dtype=np.float32)
    user_norms = np.linalg.norm(user_factors, axis=1)
    active, start, block = np.arange(rows), 0, first_block
    while len(active) and start < n_items:
        cells_per_row = max(_SELECTION_BLOCK, _SCORE_BUFFER_CELLS // len(active))
        block = min(block, cells_per_row // _SELECTION_BLOCK * _SELECTION_BLOCK)
        stop = min(start + block, len(items.factors))
        scores = user_factors[active] @ items.factors[start:stop].T
        scores[:, n_items - start :] = -np.inf
        row_position = np.full(rows, -1)
        row_position[active] = np.arange(len(active))
        in_block = (row_position[seen_row] >= 0) & (seen_column >= start) & (seen_column < stop)
        scores[row_position[seen_row[in_block]], seen_column[in_block] - start] = -np.inf
        columns, values = _top_n_per_row(scores, min(n, stop - start))
        merged_columns = np.concatenate([best_columns[active], columns + start], axis=1)
        merged_scores = np.concatenate([best_scores[active], values], axis=1)
        keep = np.lexsort((items.item[merged_columns], -merged_scores), axis=1)[:, :n]
        best_columns[active] = np.take_along_axis(merged_columns, keep, axis=1)
        best_scores[active] = np.take_along_axis(merged_scores, keep, axis=1)
        active = active[best_scores[active, -1] <= user_norms[active] * items.norms[stop]]
        start, block = stop, block * 4
    return best_columns, best_scores


def _request_factors(model: TrainedRecommender, request: Request) -> np.ndarray:
    """Each requested user's ALS factors: the model's, else folded in from their positive opinions.

    A user without factors (new since training, or a held-out user in an evaluation) gets what
    ALS's own user step gives them against the trained item factors (implicit's recalculate_user).
    """
    known = request.model_user >= 0
    factors = np.zeros((len(request.user_ids), model.item_factors.shape[1]), dtype=np.float32)
    factors[known] = model.user_factors[request.model_user[known]]
    missing = np.flatnonzero(~np.any(factors != 0, axis=1))
    opinions = request.opinions
    liked = opinions.positive & np.isin(opinions.user, missing)
    if not liked.any():
        return factors
    shape = (len(factors), len(model.item_ids))
    values = sp.csr_matrix(
        (opinions.value[liked], (opinions.user[liked], opinions.item[liked])), shape=shape, dtype=np.float32
    )
    als = AlternatingLeastSquares(
        factors=factors.shape[1], regularization=model.params.regularization, alpha=model.params.alpha
    )
    als.item_factors = model.item_factors
    with threadpool_limits(limits=1, user_api="blas"):
        factors[missing] = als.recalculate_user(missing, values[missing])
    return factors


def _als_picks(model: TrainedRecommender, request: Request, num_results: int) -> Picks:
    """Top ALS-scored unseen items, with reasons, for requested users who have factors and likes.

    Users are scored in chunks on a thread pool (BLAS itself limited to one thread), so memory
    stays at one bounded score buffer per thread.
    """
    opinions = request.opinions
    n_users, n_items = len(request.user_ids), len(model.item_ids)
    liked_user, liked_item = opinions.user[opinions.positive], opinions.item[opinions.positive]
    liked = pair_matrix(liked_user, liked_item, (n_users, n_items))
    user_factors = _request_factors(model, request)
    users = np.flatnonzero(np.any(user_factors != 0, axis=1) & (np.diff(liked.indptr) > 0))

    items = _items_by_norm(model)
    column_of_item = np.full(n_items, -1)
    column_of_item[items.item] = np.arange(len(items.item))
    seen_column = column_of_item[opinions.item]
    scorable_seen = seen_column >= 0
    seen_shape = (n_users, len(items.factors))
    seen = pair_matrix(opinions.user[scorable_seen], seen_column[scorable_seen], seen_shape)
    norms = np.linalg.norm(model.item_factors, axis=1, keepdims=True)
    unit_item_factors = model.item_factors / np.where(norms > 0, norms, 1)
    n = min(num_results, len(items.item))

    def score_chunk(chunk: np.ndarray) -> tuple[np.ndarray, ...]:
        seen_row, seen_column = rows_of(seen, chunk)
        columns, best = _best_columns(user_factors[chunk], items, seen_row, seen_column, n)
        found = np.isfinite(best)
        user = np.broadcast_to(chunk[:, None], found.shape)[found]
        item = items.item[columns[found]]
        position = np.broadcast_to(np.arange(n), found.shape)[found]
        return user, item, best[found], position, _reason_items(user, item, liked, unit_item_factors)

    chunks = [users[start : start + _USERS_PER_CHUNK] for start in range(0, len(users), _USERS_PER_CHUNK)]
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(os.cpu_count()) as pool:
        parts = list(pool.map(score_chunk, chunks))
    user, item, score, position, reason = (concatenate([part[field] for part in parts]) for field in range(5))
    return Picks(user, item, score, position, reason, np.full(len(user), -1), "als")


def _first_unexcluded(
    ranking: np.ndarray,
    segment_start: np.ndarray,
    segment_length: np.ndarray,
    need: np.ndarray,
    excluded_user: np.ndarray,
    excluded_rank: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First `need[u]` items of user u's segment of `ranking` that u has not excluded.

    `excluded_rank` is the rank of each excluded (user, item) pair inside that user's segment
    (pairs unique). The j-th allowed rank is j plus the number of excluded ranks e_k (sorted,
    k-th of the user) with e_k - k <= j, so no per-user loop is needed.
    Returns (user, item, position) arrays ordered by position.
    """
    order = np.lexsort((excluded_rank, excluded_user))
    excluded_user = excluded_user[order]
    index_in_user = np.arange(len(order)) - np.searchsorted(excluded_user, excluded_user)
    allowed_before = excluded_rank[order] - index_in_user
    users, items, positions = [], [], []
    for position in range(int(need.max(initial=0))):
        skipped = np.bincount(excluded_user[allowed_before <= position], minlength=len(need))
        rank = position + skipped
        wanted = np.flatnonzero((position < need) & (rank < segment_length))
        users.append(wanted)
        items.append(ranking[segment_start[wanted] + rank[wanted]])
        positions.append(np.full(len(wanted), position))
    return tuple(concatenate(part) for part in (users, items, positions))


def _most_popular_in_group(
    popularity: np.ndarray,
    item_group: np.ndarray,
    user_group: np.ndarray,
    need: np.ndarray,
    excluded_user: np.ndarray,
    excluded_item: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, position) of the most popular non-excluded items of each user's group.

    Ties go to the lower item code; users in group -1 get nothing.
    """
    n_items = len(popularity)
    ranking = np.lexsort((np.arange(n_items), -popularity, item_group))
    rank = np.empty(n_items, dtype=np.int64)
    rank[ranking] = np.arange(n_items)
    n_groups = int(item_group.max(initial=-1)) + 1
    # A trailing empty segment serves group -1.
    group_start = np.append(np.searchsorted(item_group[ranking], np.arange(n_groups)), 0)
    group_size = np.append(np.bincount(item_group[item_group >= 0], minlength=n_groups), 0)
    start = group_start[user_group]
    same_group = (user_group[excluded_user] >= 0) & (item_group[excluded_item] == user_group[excluded_user])
    excluded_user, excluded_item = excluded_user[same_group], excluded_item[same_group]
    return _first_unexcluded(
        ranking, start, group_size[user_group], need, excluded_user, rank[excluded_item] - start[excluded_user]
    )


def _popularity_picks(
    popularity: np.ndarray,
    category_codes: np.ndarray,
    favourite_category: np.ndarray,
    need: np.ndarray,
    excluded_user: np.ndarray,
    excluded_item: np.ndarray,
) -> list[Picks]:
    """Most popular allowed items: the user's favourite category first, then all items."""

    def picks(user: np.ndarray, item: np.ndarray, position: np.ndarray, category: np.ndarray) -> Picks:
        no_reason_item = np.full(len(user), -1)
        return Picks(user, item, popularity[item].astype(float), position, no_reason_item, category, "popularity")

    user, item, position = _most_popular_in_group(
        popularity, category_codes, favourite_category, need, excluded_user, excluded_item
    )
    in_category = picks(user, item, position, favourite_category[user])
    n_users = len(need)
    user, item, position = _most_popular_in_group(
        popularity,
        np.zeros(len(popularity), dtype=np.int64),
        np.zeros(n_users, dtype=np.int64),
        need - np.bincount(user, minlength=n_users),
        np.concatenate([excluded_user, user]),
        np.concatenate([excluded_item, item]),
    )
    return [in_category, picks(user, item, position, np.full(len(user), -1))]


def _names_or_null(names: np.ndarray, codes: np.ndarray) -> pd.Series:
    """String column of names[code], null where code is -1."""
    values = np.full(len(codes), None, dtype=object)
    known = codes >= 0
    values[known] = names[codes[known]]
    return pd.Series(values, dtype="str")


def _recommendation_frame(
    model: TrainedRecommender, request: Request, category_names: np.ndarray, picks: list[Picks]
) -> pd.DataFrame:
    """One row per pick, ranked per user in source order (ALS, category, overall)."""
    stage = np.concatenate([np.full(len(part.user), index) for index, part in enumerate(picks)])

    def column(field: str) -> np.ndarray:
        return np.concatenate([getattr(part, field) for part in picks])

    user, position = column("user"), column("position")
    order = np.lexsort((position, stage, user))
    user = user[order]
    return pd.DataFrame(
        {
            "USER_ID": pd.Series(request.user_ids[user], dtype="str"),
            "RANK": np.arange(len(user)) - np.searchsorted(user, user) + 1,
            "ITEM_ID": pd.Series(model.item_ids[column("item")[order]], dtype="str"),
            "SCORE": column("score")[order].astype(np.float64),
            "SOURCE": pd.Series(np.repeat([part.source for part in picks], [len(part.user) for part in picks])[order]),
            "REASON_ITEM_ID": _names_or_null(model.item_ids, column("reason_item")[order]),
            "REASON_CATEGORY": _names_or_null(category_names, column("reason_category")[order]),
        }
    )


def recommend_with_fallback(
    model: TrainedRecommender,
    interactions: pd.DataFrame,
    user_ids: pd.Series | np.ndarray | list[str],
    num_results: int,
    model_picks: Callable[[Any, Request, int], Picks] | None,
    use_favourite_category: bool,
) -> pd.DataFrame:
    """The model's picks (optional) topped up with popularity picks to `num_results` per user.

    `model` needs user_ids, item_ids, item_categories, item_popularity and
    params.min_positive_value; `model_picks(model, request, num_results)` adds the rest.
    """
    category_names, category_codes = _category_codes(model)
    request = _prepare_request(model, interactions, user_ids, category_codes)
    n_users = len(request.user_ids)
    picks = [model_picks(model, request, num_results)] if model_picks else []
    picked_user = concatenate([part.user for part in picks])
    picked_item = concatenate([part.item for part in picks])
    favourite = request.favourite_category if use_favourite_category else np.full(n_users, -1)
    picks += _popularity_picks(
        model.item_popularity,
        category_codes,
        favourite,
        need=num_results - np.bincount(picked_user, minlength=n_users),
        excluded_user=np.concatenate([request.opinions.user, picked_user]),
        excluded_item=np.concatenate([request.opinions.item, picked_item]),
    )
    return _recommendation_frame(model, request, category_names, picks)


def recommend(
    model: TrainedRecommender,
    interactions: pd.DataFrame,
    user_ids: pd.Series | np.ndarray | list[str],
    num_results: int = 5,
) -> pd.DataFrame:
    """Top `num_results` unseen items per requested user (columns: RECOMMENDATION_COLUMNS).

    `interactions` is the users' history: every item in it is excluded, its positive items are
    the ALS reasons and the source of the favourite category. Users with a positive item get ALS
    picks (SOURCE 'als', REASON_ITEM_ID = most similar liked item), from their trained factors or,
    for users the model has not seen, from factors folded in from their positive items;
    everyone is topped up with the most popular items of their favourite category, then of all
    items (SOURCE 'popularity', REASON_CATEGORY = that category, or null for all items).
    SCORE is the ALS preference for 'als' rows and the positive-review count for 'popularity'.
    """
    return recommend_with_fallback(
        model, interactions, user_ids, num_results, model_picks=_als_picks, use_favourite_category=True
    )


def recommend_popular(
    model: TrainedRecommender,
    interactions: pd.DataFrame,
    user_ids: pd.Series | np.ndarray | list[str],
    num_results: int = 5,
    include_reviewed: bool = True,
) -> pd.DataFrame:
    """Popularity-count baseline: the most popular items overall, no personalisation.

    As Personalize's popularity-count recipe, everyone gets the same items, reviewed ones
    included; with `include_reviewed=False`, each user's reviewed items are skipped.
    """
    history = interactions if not include_reviewed else interactions.iloc[0:0]
    return recommend_with_fallback(
        model, history, user_ids, num_results, model_picks=None, use_favourite_category=False
    )
