"""Variant families: a catalog's listings of one product in another colour, size or pack (docs/picks.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

COLOURS = (
    "black|white|grey|gray|silver|gold|golden|rose gold|red|maroon|pink|orange|yellow|green|olive|teal|mint|blue|navy"
    "|aqua|sky|turquoise|cyan|purple|violet|lavender|brown|beige|cream|ivory|charcoal|graphite|multicolou?r|multi"
    "|transparent|clear|dark|light|deep|pastel|metallic|matte|midnight|space|jet|ash|steel|wine|coral|peach|copper"
    "|bronze|champagne|sapphire|emerald|ocean|forest|carbon|iron|titanium|starlight|mystic|phantom|pearl|lime|mustard"
    "|burgundy|magenta|indigo|khaki|tan|sand|denim|rust|plum"
)
UNITS = (
    r"gb|tb|mb|mah|kg|gms?|grams?|mg|ml|l|ltrs?|litres?|liters?|m|mtrs?|meters?|metres?|cm|mm|inch(?:es)?|ft|feet|foot"
    r"|w|watts?|v|pcs|pieces?|units?|count|pack|sets?|rolls?|pairs?|sheets?|x"
)
# Removed before names are compared: pack phrases, quantities with a unit, model codes, colour words.
_VARIANT_PATTERNS = (
    r"\b(?:pack|set|combo|box) of \d+\b",
    r"\b\d+\s*-?\s*(?:pack|pcs|pieces|piece|units)\b",
    rf"\b\d+(?:[.,]\d+)?\s*-?\s*(?:{UNITS})\b",
    r"\b(?=[a-z0-9-]*\d)(?=[a-z0-9-]*[a-z])[a-z0-9-]{6,}\b",
    rf"\b(?:{COLOURS})\b",
    r"\b(?:size|colou?r|variant|edition|model)\b",
)
# After the name's first part, a part (between brackets, commas and bars) that names a colour or a quantity is
# the variant's description ("Sea Blue", "4GB RAM"): removed whole.
_PART = r"[^,()|\[\]]*"
_VARIANT_PART = rf"{_PART}(?:\b(?:{COLOURS})\b|\b\d+(?:[.,]\d+)?\s*-?\s*(?:{UNITS})\b|\b(?:pack|set) of \d){_PART}"
# Reviewers with more reviews than this say nothing about which listings are one product (and would make the
# product x product co-review matrix dense).
MAX_REVIEWS_PER_REVIEWER = 200


def name_key(names: pd.Series) -> pd.Series:
    """The name without its variant words (colours, sizes, packs, model codes) and the later parts holding them;
    lower case, punctuation and spaces squeezed."""
    lower = names.fillna("").astype(str).str.lower()
    parts = lower.str.extract(r"^([^,()|\[\]]*)(.*)$")
    key = parts[0] + " " + parts[1].str.replace(_VARIANT_PART, " ", regex=True)
    for pattern in _VARIANT_PATTERNS:
        key = key.str.replace(pattern, " ", regex=True)
    return key.str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()


def name_pairs(product_ids: pd.Series, names: pd.Series) -> pd.DataFrame:
    """(a, b) codes into `product_ids` of listings with equal, non-empty `name_key`s: each to its group's first."""
    keys = name_key(names).to_numpy()
    codes, uniques = pd.factorize(keys)
    first = np.full(len(uniques), -1, dtype=np.int64)
    order = np.arange(len(codes))[::-1]
    first[codes[order]] = order
    pair = (first[codes] != np.arange(len(codes))) & (keys != "")
    return pd.DataFrame({"a": first[codes][pair], "b": np.flatnonzero(pair)})


def reviewer_pairs(product_ids: pd.Series, reviews: pd.DataFrame, min_jaccard: float, min_shared: int) -> pd.DataFrame:
    """(a, b, shared, jaccard) of listings (a < b, codes into `product_ids`) whose reviewer sets overlap by at least
    `min_shared` reviewers and `min_jaccard` (shared / either's), from a sparse product x reviewer matrix."""
    index = pd.Index(product_ids)
    pairs = reviews[["user_id", "product_id"]].drop_duplicates()
    pairs = pairs[index.get_indexer(pairs["product_id"]) >= 0]
    per_user = pairs["user_id"].map(pairs["user_id"].value_counts())
    pairs = pairs[per_user <= MAX_REVIEWS_PER_REVIEWER]
    users, user_codes = np.unique(pairs["user_id"].to_numpy(dtype=str), return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(len(pairs), dtype=np.float32), (index.get_indexer(pairs["product_id"]), user_codes)),
        shape=(len(index), len(users)),
    )
    shared = sp.triu(matrix @ matrix.T, k=1).tocoo()
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    jaccard = shared.data / (sizes[shared.row] + sizes[shared.col] - shared.data)
    keep = (shared.data >= min_shared) & (jaccard >= min_jaccard)
    return pd.DataFrame(
        {
            "a": shared.row[keep].astype(np.int64),
            "b": shared.col[keep].astype(np.int64),
            "shared": shared.data[keep].astype(np.int64),
            "jaccard": jaccard[keep].astype(np.float64),
        }
    ).sort_values(["a", "b"], ignore_index=True)


def variant_families(
    products: pd.DataFrame, reviews: pd.DataFrame, min_jaccard: float = 0.5, min_shared: int = 2
) -> pd.DataFrame:
    """product_id, family_id (its family's smallest product_id), family_size: connected components of the
    listings joined by equal `name_key`s or by shared reviewers (`reviewer_pairs`)."""
    ids = products["product_id"].reset_index(drop=True)
    edges = pd.concat(
        [name_pairs(ids, products["product_name"]), reviewer_pairs(ids, reviews, min_jaccard, min_shared)[["a", "b"]]]
    )
    graph = sp.csr_matrix((np.ones(len(edges)), (edges["a"], edges["b"])), shape=(len(ids), len(ids)))
    _, component = connected_components(graph, directed=False)
    ids_sorted = ids.to_numpy(dtype=str)
    smallest = pd.Series(ids_sorted).groupby(component).transform("min")
    return pd.DataFrame(
        {
            "product_id": ids.astype("str"),
            "family_id": smallest.astype("str"),
            "family_size": pd.Series(component).map(pd.Series(component).value_counts()).astype("int64"),
        }
    )
