"""The sample catalog's text: review wording, reviewer names, ids, prices, feature bullets and links."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from recsys_assets.sample.vocabulary import (
    ABOUT_TEMPLATES,
    BRANDS,
    COLOURS,
    FIRST_NAMES,
    LAST_NAMES,
    LEAF_NOUNS,
    LEAF_PATHS,
    LEAVES,
    SENTENCES,
    TITLES,
    level_codes,
)

if TYPE_CHECKING:
    from recsys_assets.sample.generator import _Products

_STORE_SLUG = {
    "Electronics": "electronics",
    "Computers&Accessories": "computers",
    "Home&Kitchen": "kitchen",
    "OfficeProducts": "office-products",
    "MusicalInstruments": "musical-instruments",
    "HomeImprovement": "home-improvement",
    "Toys&Games": "toys",
    "Car&Motorbike": "automotive",
    "Health&PersonalCare": "hpc",
}
UPPER_ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)
_ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
_LIST_END = "\x1e"


def review_texts(
    stars: np.ndarray, product_nouns: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Titles and contents (object arrays) whose sentiment matches each 1-5 star; nouns name the product."""
    row = np.asarray(stars) - 1
    n_options = SENTENCES.shape[1]
    sentence_parts = _template_parts(SENTENCES)
    titles = TITLES[row, rng.integers(0, TITLES.shape[1], size=row.size)]
    start = rng.integers(0, n_options, size=row.size)
    step = rng.integers(1, n_options, size=row.size)  # n_options is prime, so the sentences are distinct
    n_sentences = 1 + (rng.random(row.size) < 0.5) + (rng.random(row.size) < 0.2)
    contents = _fill_noun(sentence_parts[row, start], product_nouns)
    for extra in (1, 2):
        sentence = _fill_noun(sentence_parts[row, (start + extra * step) % n_options], product_nouns)
        contents = np.where(n_sentences > extra, contents + " " + sentence, contents)
    return titles, contents


def _template_parts(templates: np.ndarray) -> np.ndarray:
    """(..., 3) array of (text before "{}", "{}" or "", text after) for each template."""
    return np.array([template.partition("{}") for template in templates.ravel().tolist()], dtype=object).reshape(
        *templates.shape, 3
    )


def _fill_noun(parts: np.ndarray, nouns: np.ndarray) -> np.ndarray:
    """Templates given as _template_parts rows, with the noun put where "{}" was."""
    return parts[:, 0] + np.where(parts[:, 1] == "{}", nouns, "") + parts[:, 2]


def _random_codes(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray) -> np.ndarray:
    letters = alphabet[rng.integers(0, len(alphabet), size=(n, length))]
    return letters.view(f"S{length}").ravel()


def unique_codes(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray, prefix: str) -> np.ndarray:
    """n distinct random codes (object array of str) in draw order."""
    codes = np.empty(0, dtype=f"S{length}")
    while len(codes) < n:
        codes = np.r_[codes, _random_codes(rng, n - len(codes), length, alphabet)]
        _, first = np.unique(codes, return_index=True)
        codes = codes[np.sort(first)]
    return np.char.add(prefix, codes.astype(str)).astype(object)


def review_ids(rng: np.random.Generator, n_reviews: int) -> np.ndarray:
    """'R' + 12 or 13 upper alphanumerics, like the real ids; two lengths never collide."""
    is_long = rng.random(n_reviews) < 0.75
    ids = np.empty(n_reviews, dtype=object)
    ids[is_long] = unique_codes(rng, int(is_long.sum()), 13, UPPER_ALNUM, prefix="R")
    ids[~is_long] = unique_codes(rng, int((~is_long).sum()), 12, UPPER_ALNUM, prefix="R")
    return ids


def user_names(rng: np.random.Generator, n_users: int) -> np.ndarray:
    first = rng.choice(FIRST_NAMES, size=n_users)
    last = rng.choice(LAST_NAMES, size=n_users)
    style = rng.random(n_users)
    return np.select(
        [style < 0.45, style < 0.75, style < 0.85],
        [first + " " + last, first, np.full(n_users, "Amazon Customer", dtype=object)],
        first + " " + last.astype(str).astype("<U1").astype(object) + ".",
    )


def join_lists(values: np.ndarray, last_of_product: np.ndarray) -> np.ndarray:
    """Comma-join consecutive values per product (rows sorted by product) in one pass."""
    pieces = np.empty(2 * len(values), dtype=object)
    pieces[0::2] = values
    pieces[1::2] = np.where(last_of_product, _LIST_END, ",")
    return np.array("".join(pieces).split(_LIST_END)[:-1], dtype=object)


def _indian_grouping(numbers: np.ndarray) -> np.ndarray:
    """'1,39,900' style digit grouping (last three digits, then pairs), as amazon.csv writes prices."""
    numbers = np.asarray(numbers, dtype=np.int64)
    text = np.where(numbers >= 1000, np.char.zfill((numbers % 1000).astype(str), 3), (numbers % 1000).astype(str))
    rest = numbers // 1000
    while (rest > 0).any():
        pair = (rest % 100).astype(str)
        rest_after = rest // 100
        pair = np.where(rest_after > 0, np.char.zfill(pair, 2), pair)
        text = np.where(rest > 0, np.char.add(np.char.add(pair, ","), text), text)
        rest = rest_after
    return text.astype(object)


def _round_price(price: np.ndarray) -> np.ndarray:
    """Shop-style prices ending in 9: 399, 1,099, 12,499."""
    step = np.where(price < 1000, 10, 100)
    return np.maximum(np.round(price / step) * step - 1, 9).astype(np.int64)


def _slug(texts: np.ndarray) -> np.ndarray:
    """URL path words as amazon.in writes them: spaces become dashes."""
    return np.char.replace(texts.astype(str), " ", "-").astype(object)


def _pick_per_leaf(rng: np.random.Generator, options_per_leaf: list[tuple[str, ...]], leaf: np.ndarray) -> np.ndarray:
    """For each product, the position of a random option of its leaf in the flattened option list."""
    count = np.array([len(options) for options in options_per_leaf])
    offset = np.r_[0, np.cumsum(count)[:-1]]
    return offset[leaf] + rng.integers(0, count[leaf])


def _about_product(rng: np.random.Generator, nouns: np.ndarray) -> np.ndarray:
    """3-6 distinct feature bullets per product, joined with '|'."""
    n_products, n_templates = len(nouns), len(ABOUT_TEMPLATES)
    chosen = np.argsort(rng.random((n_products, n_templates)), axis=1)
    n_bullets = rng.integers(3, 7, size=n_products)
    parts = _template_parts(ABOUT_TEMPLATES)
    about = _fill_noun(parts[chosen[:, 0]], nouns)
    for bullet in range(1, 6):
        about = np.where(n_bullets > bullet, about + "|" + _fill_noun(parts[chosen[:, bullet]], nouns), about)
    return about


def product_columns(
    rng: np.random.Generator, products: _Products, product: np.ndarray, stars: np.ndarray
) -> dict[str, np.ndarray]:
    """Every product-level column; ``product`` and ``stars`` describe each review."""
    n_products = len(products.leaf)
    leaf = products.leaf
    product_ids = unique_codes(rng, n_products, 8, UPPER_ALNUM, prefix="B0")
    name_options = [leaf_.names for leaf_ in LEAVES]
    name_pick = _pick_per_leaf(rng, name_options, leaf)
    names = np.array([name for options in name_options for name in options], dtype=object)[name_pick]
    specs = np.array([spec for leaf_ in LEAVES for spec in leaf_.specs], dtype=object)[
        _pick_per_leaf(rng, [leaf_.specs for leaf_ in LEAVES], leaf)
    ]
    brands = rng.choice(BRANDS, size=n_products)
    colours = rng.choice(COLOURS, size=n_products)

    low, high = np.array([leaf_.price_range for leaf_ in LEAVES], dtype=float)[leaf].T
    actual = _round_price(np.exp(rng.uniform(np.log(low), np.log(high))))
    discount = np.where(rng.random(n_products) < 0.1, 0.0, 0.9 * rng.beta(2.2, 2.2, size=n_products))
    discounted = np.minimum(_round_price(actual * (1 - discount)), actual)
    percentage = np.floor((1 - discounted / actual) * 100 + 0.5).astype(np.int64)

    n_listed = np.bincount(product, minlength=n_products)
    tenths = np.floor(np.bincount(product, weights=stars, minlength=n_products) / n_listed * 10 + 0.5).astype(np.int64)
    rating_count = np.ceil(n_listed * (1 + rng.lognormal(np.log(150), 1.2, size=n_products))).astype(np.int64)

    image_codes = (
        rng.choice(np.array(list("345678"), dtype=object), size=n_products)
        + "1"
        + _random_codes(rng, n_products, 8, _ALNUM).astype(str).astype(object)
        + "L"
    )
    webp_prefix = np.where(rng.random(n_products) < 0.3, "W/WEBP_402378-T1/images/", "").astype(object)
    image_suffix = rng.choice(
        np.array(
            [
                "._SX300_SY300_QL70_FMwebp_.jpg",
                "._SY300_SX300_.jpg",
                "._SX342_SY445_.jpg",
                "._SY445_SX342_QL70_FMwebp_.jpg",
            ],
            dtype=object,
        ),
        size=n_products,
    )
    _, top_names = level_codes(1)
    store = np.array([_STORE_SLUG[name] for name in top_names], dtype=object)[products.top]
    store_rank = (np.arange(n_products) - products.top_bounds[products.top, 0] + 1).astype(str).astype(object)
    query_id = rng.integers(1_672_900_000, 1_672_930_000, size=n_products).astype(str).astype(object)
    return {
        "product_id": product_ids,
        "product_name": brands + " " + names + " " + specs + " (" + colours + ")",
        "category": LEAF_PATHS[leaf],
        "discounted_price": "₹" + _indian_grouping(discounted),
        "actual_price": "₹" + _indian_grouping(actual),
        "discount_percentage": percentage.astype(str).astype(object) + "%",
        "rating": (tenths // 10).astype(str).astype(object) + "." + (tenths % 10).astype(str).astype(object),
        "rating_count": _indian_grouping(rating_count),
        "about_product": _about_product(rng, LEAF_NOUNS[leaf]),
        "img_link": "https://m.media-amazon.com/images/" + webp_prefix + "I/" + image_codes + image_suffix,
        "product_link": "https://www.amazon.in/"
        + _slug(brands)
        + "-"
        + _slug(names)
        + "/dp/"
        + product_ids
        + "/ref=sr_1_"
        + store_rank
        + "?qid="
        + query_id
        + "&s="
        + store
        + "&sr=1-"
        + store_rank,
    }
