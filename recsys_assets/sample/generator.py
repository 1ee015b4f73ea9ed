"""Synthetic product catalog in the exact Kaggle "Amazon Sales Dataset" (amazon.csv) format.

Each row is a product; user_id, user_name, review_id, review_title and review_content hold that
product's reviewers as lists joined with "," (no space). Planted structure for recommenders: every user
has one or two favourite top-level categories and a favourite subcategory, product popularity is
Zipf-like within a category, review counts per user are heavy-tailed, and stars (which drive the review
wording and the product rating) are high inside a user's taste and low outside it.
"""

from __future__ import annotations

import csv
from os import PathLike
from typing import NamedTuple

import numpy as np
import pandas as pd

from recsys_assets.catalog.reading import REQUIRED_COLUMNS
from recsys_assets.sample.text import (
    UPPER_ALNUM,
    join_lists,
    product_columns,
    review_ids,
    review_texts,
    unique_codes,
    user_names,
)
from recsys_assets.sample.vocabulary import LEAF_NOUNS, MISALIGNING_SENTENCES, level_codes

_TOP_LEVEL_SHARE = {
    "Electronics": 0.24,
    "Computers&Accessories": 0.22,
    "Home&Kitchen": 0.22,
    "OfficeProducts": 0.07,
    "MusicalInstruments": 0.04,
    "HomeImprovement": 0.05,
    "Toys&Games": 0.05,
    "Car&Motorbike": 0.05,
    "Health&PersonalCare": 0.06,
}
_STAR_SHARES_BY_TASTE = np.array(
    [  # rows: favourite subcategory, favourite category, outside the taste
        [0.02, 0.03, 0.08, 0.32, 0.55],
        [0.03, 0.05, 0.12, 0.38, 0.42],
        [0.22, 0.24, 0.24, 0.18, 0.12],
    ]
)
_IN_TASTE_SHARE = 0.85
_FAVOURITE_SUBCATEGORY_SHARE = 0.4  # of all reviews
_SECOND_FAVOURITE_USERS = 0.4
_SECOND_FAVOURITE_PICK = 0.35
_ZIPF_EXPONENT = 0.9
_REVIEWS_PER_USER_SIGMA = 1.4
_MISALIGNED_PRODUCT_SHARE = 0.03
_FIRST_REVIEW_EPOCH, _LAST_REVIEW_EPOCH = 1_546_300_800, 1_672_876_800  # 2019-01-01 .. 2023-01-05


def generate_catalog(
    n_products: int = 200, n_users: int = 400, n_reviews: int = 3000, seed: int = 7, include_timestamps: bool = False
) -> pd.DataFrame:
    """All columns are strings, exactly as they would be in the CSV.

    One row per product with exactly ``n_reviews`` reviews by ``n_users`` users in total; with
    ``include_timestamps`` a 17th column ``timestamp`` lists epoch seconds aligned with ``user_id``.
    """
    return draw_sample(n_products, n_users, n_reviews, seed, include_timestamps).catalog


def planted_tastes(n_products: int = 200, n_users: int = 400, n_reviews: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Users x products (user_id index, product_id columns): the chance that a user's review is of the product.

    These are the tastes `generate_catalog` plants with the same arguments, before a user's repeated
    products are redrawn: ranking products by them is what a recommender that knew each user exactly
    would do (it knows nothing of the order of a user's reviews).
    """
    draw = draw_sample(n_products, n_users, n_reviews, seed)
    products, tastes = draw.products, draw.tastes
    weight = np.diff(products.cumulative_popularity, prepend=0.0)
    in_sub = products.sub[None, :] == tastes.favourite_sub[:, None]
    chance = _FAVOURITE_SUBCATEGORY_SHARE * _normalized_rows(in_sub * weight)
    has_second = tastes.second_top >= 0
    in_taste = np.zeros_like(in_sub)
    for top, pick in (
        (tastes.favourite_top, np.where(has_second, 1 - _SECOND_FAVOURITE_PICK, 1.0)),
        (tastes.second_top, np.where(has_second, _SECOND_FAVOURITE_PICK, 0.0)),
    ):
        in_top = products.top[None, :] == top[:, None]
        in_taste |= in_top
        chance += (_IN_TASTE_SHARE - _FAVOURITE_SUBCATEGORY_SHARE) * pick[:, None] * _normalized_rows(in_top * weight)
    chance += (1 - _IN_TASTE_SHARE) * _normalized_rows(~in_taste * weight)
    return pd.DataFrame(
        chance, index=pd.Index(draw.user_ids, name="user_id"), columns=pd.Index(draw.product_ids, name="product_id")
    )


def _normalized_rows(weights: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows summing to 0 stay 0)."""
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights, dtype=float), where=total > 0)


def draw_sample(
    n_products: int, n_users: int, n_reviews: int, seed: int, include_timestamps: bool = False
) -> SampleDraw:
    """The catalog `generate_catalog` returns, with its reviews one per row and the products, customers and tastes
    it was drawn from (what every sample format is written from)."""
    _check_sizes(n_products, n_users, n_reviews)
    rng = np.random.default_rng(seed)
    products = _products(rng, n_products)
    tastes = _user_tastes(rng, n_users, products)
    favourite_top, second_top, favourite_sub = tastes
    reviews_per_user = _reviews_per_user(rng, n_users, n_reviews, n_products)
    user, product = _review_pairs(rng, reviews_per_user, products, favourite_top, second_top, favourite_sub)
    product = _give_every_product_a_review(rng, product, products)
    in_taste = (products.top[product] == favourite_top[user]) | (products.top[product] == second_top[user])
    in_favourite_sub = products.sub[product] == favourite_sub[user]
    stars = _draw_stars(rng, np.where(in_favourite_sub, 0, np.where(in_taste, 1, 2)))
    timestamp = rng.integers(_FIRST_REVIEW_EPOCH, _LAST_REVIEW_EPOCH, size=len(product))
    order = np.lexsort((timestamp, product))
    user, product, stars, timestamp = user[order], product[order], stars[order], timestamp[order]

    titles, contents = review_texts(stars, LEAF_NOUNS[products.leaf[product]], rng)
    last_of_product = np.r_[product[1:] != product[:-1], True]
    first_of_product = np.flatnonzero(np.r_[True, last_of_product[:-1]])
    misaligned = first_of_product[rng.random(n_products) < _MISALIGNED_PRODUCT_SHARE]
    contents[misaligned] = contents[misaligned] + " " + rng.choice(MISALIGNING_SENTENCES, size=misaligned.size)

    user_ids = unique_codes(rng, n_users, 27, UPPER_ALNUM, prefix="A")
    names = user_names(rng, n_users)
    ids = review_ids(rng, len(product))
    catalog = product_columns(rng, products, product, stars)
    catalog |= {
        "user_id": join_lists(user_ids[user], last_of_product),
        "user_name": join_lists(names[user], last_of_product),
        "review_id": join_lists(ids, last_of_product),
        "review_title": join_lists(titles, last_of_product),
        "review_content": join_lists(contents, last_of_product),
    }
    columns = list(REQUIRED_COLUMNS)
    if include_timestamps:
        catalog["timestamp"] = join_lists(timestamp.astype(str).astype(object), last_of_product)
        columns.append("timestamp")
    table = pd.DataFrame({name: catalog[name] for name in columns}, dtype="str")
    reviews = pd.DataFrame(
        {
            "user": user,
            "product": product,
            "review_id": ids,
            "review_title": titles,
            "review_content": contents,
            "stars": stars,
            "timestamp": timestamp,
        }
    )
    return SampleDraw(table, products, tastes, user_ids, catalog["product_id"], names, reviews)


def write_catalog(catalog: pd.DataFrame, path: str | PathLike) -> None:
    """Write the catalog as amazon.csv is written: UTF-8 without BOM, minimal quoting, header, '\\n' endings."""
    catalog.to_csv(path, index=False, encoding="utf-8", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


class _Tastes(NamedTuple):
    """Per user: favourite top level, second one (-1 if none) and favourite subcategory."""

    favourite_top: np.ndarray
    second_top: np.ndarray
    favourite_sub: np.ndarray


class SampleDraw(NamedTuple):
    """A drawn sample: the Kaggle catalog; per customer (by position) the id and name; per product the id; one row
    per review with the positions of its customer (`user`) and product (`product`), its 1-5 `stars` and text."""

    catalog: pd.DataFrame
    products: _Products
    tastes: _Tastes
    user_ids: np.ndarray
    product_ids: np.ndarray
    user_names: np.ndarray
    reviews: pd.DataFrame


class _Products(NamedTuple):
    """Products ordered by category path, so every top level and subcategory is a contiguous range."""

    leaf: np.ndarray
    top: np.ndarray
    sub: np.ndarray
    top_bounds: np.ndarray  # (n_tops, 2) start/end positions
    sub_bounds: np.ndarray  # (n_subs, 2)
    sub_top: np.ndarray  # top of each subcategory
    cumulative_popularity: np.ndarray


def _check_sizes(n_products: int, n_users: int, n_reviews: int) -> None:
    if n_products < 1 or n_users < 1:
        raise ValueError(f"need at least one product and one user, got n_products={n_products}, n_users={n_users}")
    if n_reviews < n_users:
        raise ValueError(f"n_reviews={n_reviews} is below n_users={n_users}: every user must write a review")
    if n_reviews < n_products:
        raise ValueError(f"n_reviews={n_reviews} is below n_products={n_products}: every product needs a review")
    if n_reviews > n_users * n_products:
        raise ValueError(f"n_reviews={n_reviews} exceeds n_users * n_products: a user reviews a product at most once")


def _bounds(sorted_codes: np.ndarray, n_codes: int) -> np.ndarray:
    ends = np.searchsorted(sorted_codes, np.arange(n_codes), side="right")
    return np.column_stack([np.r_[0, ends[:-1]], ends])


def _products(rng: np.random.Generator, n_products: int) -> _Products:
    leaf_top, top_names = level_codes(1)
    leaf_sub, _ = level_codes(2)
    top_share = np.array([_TOP_LEVEL_SHARE[name] for name in top_names])
    n_tops = len(top_names)
    # the first products cover every top level once, the rest follow the shares
    top = np.r_[rng.permutation(n_tops)[:n_products], rng.choice(n_tops, size=max(n_products - n_tops, 0), p=top_share)]
    leaf_options = [np.flatnonzero(leaf_top == t) for t in range(n_tops)]
    leaf_count = np.array([len(options) for options in leaf_options])
    leaf_offset = np.r_[0, np.cumsum(leaf_count)[:-1]]
    leaf = np.sort(np.concatenate(leaf_options)[leaf_offset[top] + rng.integers(0, leaf_count[top])])
    top, sub = leaf_top[leaf], leaf_sub[leaf]
    top_bounds = _bounds(top, n_tops)
    # Zipf-like popularity over a random ranking within each top level
    ranking = np.lexsort((rng.random(n_products), top))
    rank = np.empty(n_products, dtype=np.int64)
    rank[ranking] = np.arange(n_products) - top_bounds[top[ranking], 0]
    popularity = (rank + 1.0) ** -_ZIPF_EXPONENT
    n_subs = leaf_sub.max() + 1
    sub_top = np.zeros(n_subs, dtype=np.int64)
    sub_top[leaf_sub] = leaf_top
    return _Products(leaf, top, sub, top_bounds, _bounds(sub, n_subs), sub_top, np.cumsum(popularity))


def _sample_in_ranges(rng: np.random.Generator, cumulative_weight: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """One index per (start, end) row, drawn proportionally to the weights inside that range."""
    start, end = bounds[:, 0], bounds[:, 1]
    base = np.where(start > 0, cumulative_weight[np.maximum(start - 1, 0)], 0.0)
    target = base + rng.random(len(bounds)) * (cumulative_weight[end - 1] - base)
    return np.clip(np.searchsorted(cumulative_weight, target, side="right"), start, end - 1)


def _user_tastes(rng: np.random.Generator, n_users: int, products: _Products) -> _Tastes:
    """Favourite top level, optional second one (-1 if none) and favourite subcategory of each user."""
    top_size = np.diff(products.top_bounds, axis=1).ravel()
    with np.errstate(divide="ignore"):
        scores = np.log(top_size) + rng.gumbel(size=(n_users, len(top_size)))  # Gumbel-max: weighted, no repeats
    favourite = scores.argmax(axis=1)
    scores[np.arange(n_users), favourite] = -np.inf
    second = scores.argmax(axis=1)
    has_second = np.isfinite(scores[np.arange(n_users), second]) & (rng.random(n_users) < _SECOND_FAVOURITE_USERS)
    sub_size = np.diff(products.sub_bounds, axis=1).ravel()
    subs_of_favourite = _bounds(products.sub_top, len(top_size))[favourite]
    favourite_sub = _sample_in_ranges(rng, np.cumsum(sub_size).astype(float), subs_of_favourite)
    return _Tastes(favourite, np.where(has_second, second, -1), favourite_sub)


def _reviews_per_user(rng: np.random.Generator, n_users: int, n_reviews: int, n_products: int) -> np.ndarray:
    """Heavy-tailed counts, each >= 1 and capped well below the catalog size, summing to n_reviews."""
    cap = min(n_products, max(2 * -(-n_reviews // n_users), n_products // 4))
    appetite = rng.lognormal(0.0, _REVIEWS_PER_USER_SIGMA, size=n_users)
    counts = np.ones(n_users, dtype=np.int64)
    while (missing := n_reviews - counts.sum()) > 0:
        weight = np.where(counts < cap, appetite, 0.0)
        counts = np.minimum(counts + rng.multinomial(missing, weight / weight.sum()), cap)
    return counts


def _draw_in_taste_or_not(
    rng: np.random.Generator,
    user: np.ndarray,
    products: _Products,
    favourite_top: np.ndarray,
    second_top: np.ndarray,
    favourite_sub: np.ndarray,
) -> np.ndarray:
    """A product for each user: from the favourite subcategory or categories, else from the rest of the catalog."""
    kind = rng.random(len(user))
    use_second = (second_top[user] >= 0) & (rng.random(len(user)) < _SECOND_FAVOURITE_PICK)
    chosen_top = np.where(use_second, second_top[user], favourite_top[user])
    bounds = np.where(
        (kind < _FAVOURITE_SUBCATEGORY_SHARE)[:, None],
        products.sub_bounds[favourite_sub[user]],
        products.top_bounds[chosen_top],
    )
    product = _sample_in_ranges(rng, products.cumulative_popularity, bounds)
    outside = np.flatnonzero(kind >= _IN_TASTE_SHARE)
    for _ in range(4):  # rejection sampling: popular products outside the user's favourite categories
        whole_catalog = np.tile([0, len(products.top)], (len(outside), 1))
        product[outside] = _sample_in_ranges(rng, products.cumulative_popularity, whole_catalog)
        top = products.top[product[outside]]
        outside = outside[(top == favourite_top[user[outside]]) | (top == second_top[user[outside]])]
    return product


def _review_pairs(
    rng: np.random.Generator,
    reviews_per_user: np.ndarray,
    products: _Products,
    favourite_top: np.ndarray,
    second_top: np.ndarray,
    favourite_sub: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user, product) pairs, reviews_per_user[u] of them for user u."""
    n_products = len(products.top)
    user = np.empty(0, dtype=np.int64)
    product = np.empty(0, dtype=np.int64)
    for attempt in range(20):
        missing = reviews_per_user - np.bincount(user, minlength=len(reviews_per_user))
        if not missing.any():
            return user, product
        new_user = np.repeat(np.arange(len(reviews_per_user)), missing)
        if attempt < 6:
            new_product = _draw_in_taste_or_not(rng, new_user, products, favourite_top, second_top, favourite_sub)
        else:  # users whose taste is exhausted fill up uniformly
            new_product = rng.integers(0, n_products, size=len(new_user))
        user, product = _drop_repeated_pairs(np.r_[user, new_user], np.r_[product, new_product], n_products)
    missing = reviews_per_user - np.bincount(user, minlength=len(reviews_per_user))
    needy = np.flatnonzero(missing)  # a handful of users asking for most of a tiny catalog: enumerate
    candidate_user = np.repeat(needy, n_products)
    candidate_product = np.tile(np.arange(n_products), len(needy))
    seen = np.isin(candidate_user * n_products + candidate_product, user * n_products + product)
    candidate_user, candidate_product = candidate_user[~seen], candidate_product[~seen]
    shuffled = np.lexsort((rng.random(len(candidate_user)), candidate_user))
    candidate_user, candidate_product = candidate_user[shuffled], candidate_product[shuffled]
    keep = _rank_within_sorted_groups(candidate_user) < missing[candidate_user]
    return np.r_[user, candidate_user[keep]], np.r_[product, candidate_product[keep]]


def _drop_repeated_pairs(user: np.ndarray, product: np.ndarray, n_products: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first occurrence of each (user, product) pair, in the original order."""
    _, first = np.unique(user * n_products + product, return_index=True)
    first.sort()
    return user[first], product[first]


def _rank_within_sorted_groups(sorted_codes: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... inside each run of equal codes."""
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    return np.arange(len(sorted_codes)) - np.repeat(starts, np.diff(np.r_[starts, len(sorted_codes)]))


def _give_every_product_a_review(rng: np.random.Generator, product: np.ndarray, products: _Products) -> np.ndarray:
    """Move spare reviews (not a product's only one) to unreviewed products, preferring the same top level."""
    unreviewed = np.flatnonzero(np.bincount(product, minlength=len(products.top)) == 0)
    if not len(unreviewed):
        return product
    by_product = np.lexsort((rng.random(len(product)), product))
    spare = by_product[_rank_within_sorted_groups(product[by_product]) >= 1]
    spare = spare[np.lexsort((rng.random(len(spare)), products.top[product[spare]]))]
    spare_rank = _rank_within_sorted_groups(products.top[product[spare]])
    unreviewed_rank = _rank_within_sorted_groups(products.top[unreviewed])  # unreviewed is sorted by top
    n_tops = len(products.top_bounds)
    spares_per_top = np.bincount(products.top[product[spare]], minlength=n_tops)
    unreviewed_per_top = np.bincount(products.top[unreviewed], minlength=n_tops)
    same_top_spare = spare_rank < unreviewed_per_top[products.top[product[spare]]]
    same_top_target = unreviewed_rank < spares_per_top[products.top[unreviewed]]
    moved = product.copy()
    moved[spare[same_top_spare]] = unreviewed[same_top_target]
    leftover_target = unreviewed[~same_top_target]
    moved[rng.permutation(spare[~same_top_spare])[: len(leftover_target)]] = leftover_target
    return moved


def _draw_stars(rng: np.random.Generator, taste_tier: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(_STAR_SHARES_BY_TASTE, axis=1)[taste_tier]
    return 1 + (rng.random(len(taste_tier))[:, None] >= cumulative[:, :-1]).sum(axis=1)
