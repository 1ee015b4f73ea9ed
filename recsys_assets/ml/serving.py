"""What turns a model's picks into the served table: request encoding, popularity fallback, ranked frame."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from recsys_assets.ml.encoding import NO_CATEGORY, Opinions, concatenate, latest_opinions

# The EVENT_TYPE of the interactions `buy_again_after_days` lets a customer be offered again.
PURCHASE = "purchase"
DAY_SECONDS = 86_400

RECOMMENDATION_COLUMNS = (
    "USER_ID",
    "RANK",
    "ITEM_ID",
    "SCORE",
    "SOURCE",
    "REASON_ITEM_ID",
    "REASON_CATEGORY",
)


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


@dataclass(frozen=True)
class Request:
    """Users asking for recommendations (codes = positions in `user_ids`), their history and which of its pairs
    stay out of their lists (`excluded`, a mask over `opinions`: all of them unless bought again)."""

    user_ids: np.ndarray
    model_user: np.ndarray
    opinions: Opinions
    favourite_category: np.ndarray
    excluded: np.ndarray

    @property
    def excluded_user(self) -> np.ndarray:
        return self.opinions.user[self.excluded]

    @property
    def excluded_item(self) -> np.ndarray:
        return self.opinions.item[self.excluded]


def may_buy_again(interactions: pd.DataFrame, buy_again_after_days: int | None) -> np.ndarray:
    """Per interaction: a purchase at least `buy_again_after_days` days before the newest TIMESTAMP of
    `interactions` (None: none), which no longer keeps its item out of the customer's lists."""
    if buy_again_after_days is None or "EVENT_TYPE" not in interactions.columns:
        return np.zeros(len(interactions), dtype=bool)
    timestamp = interactions["TIMESTAMP"].to_numpy(dtype=np.int64)
    cutoff = timestamp.max(initial=0) - buy_again_after_days * DAY_SECONDS
    return (interactions["EVENT_TYPE"].astype(str).str.lower().to_numpy() == PURCHASE) & (timestamp <= cutoff)


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


def prepare_request(
    model: TrainedOnCatalog,
    interactions: pd.DataFrame,
    user_ids: pd.Series | np.ndarray | list[str],
    category_codes: np.ndarray,
    buy_again_after_days: int | None = None,
) -> Request:
    """Map requested users and their known-item history onto integer codes; a pair whose latest interaction
    `may_buy_again` is not excluded."""
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
        excluded=~may_buy_again(interactions, buy_again_after_days)[known][opinions.row],
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


def picks_in_chunks(
    users: np.ndarray, users_per_chunk: int, score_chunk: Callable[[np.ndarray], tuple[np.ndarray, ...]], source: str
) -> Picks:
    """Picks of `score_chunk(chunk) -> (user, item, score, position, reason_item)` over chunks of `users`,
    on a thread pool with BLAS limited to one thread."""
    chunks = [users[start : start + users_per_chunk] for start in range(0, len(users), users_per_chunk)]
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(os.cpu_count()) as pool:
        parts = list(pool.map(score_chunk, chunks))
    user, item, score, position, reason = (concatenate([part[field] for part in parts]) for field in range(5))
    return Picks(user, item, score.astype(np.float64), position, reason, np.full(len(user), -1), source)


def _category_codes(model: TrainedOnCatalog) -> tuple[np.ndarray, np.ndarray]:
    """Sorted category names and each item's code into them (-1 = no category)."""
    categories = model.item_categories
    names = np.unique(categories[categories != NO_CATEGORY])
    codes = np.where(categories != NO_CATEGORY, np.searchsorted(names, categories), -1)
    return names, codes


def _first_unexcluded(
    ranking: np.ndarray,
    segment_start: np.ndarray,
    segment_length: np.ndarray,
    need: np.ndarray,
    excluded_user: np.ndarray,
    excluded_rank: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, position) of the first `need[u]` items of u's segment of `ranking` u has not excluded.

    `excluded_rank`: rank of each excluded (user, item) pair inside that user's segment (pairs unique)."""
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
    """(user, item, position) of the most popular non-excluded items of each user's group
    (ties: lower item code; group -1 gets nothing)."""
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
    model: TrainedOnCatalog, request: Request, category_names: np.ndarray, picks: list[Picks]
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
    model: TrainedOnCatalog,
    interactions: pd.DataFrame,
    user_ids: pd.Series | np.ndarray | list[str],
    num_results: int,
    model_picks: Callable[[Any, Request, int], Picks] | None,
    use_favourite_category: bool,
    buy_again_after_days: int | None = None,
) -> pd.DataFrame:
    """The model's picks (optional, `model_picks(model, request, num_results)`) topped up with popularity
    picks to `num_results` per user; never an item of the user's `interactions` but those `may_buy_again`."""
    category_names, category_codes = _category_codes(model)
    request = prepare_request(model, interactions, user_ids, category_codes, buy_again_after_days)
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
        excluded_user=np.concatenate([request.excluded_user, picked_user]),
        excluded_item=np.concatenate([request.excluded_item, picked_item]),
    )
    return _recommendation_frame(model, request, category_names, picks)
