"""A campaign's business rules on products (Personalize's filter expressions, as settings) and each product's brand."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

# The rules in the order they are reported; a product is counted under every rule it breaks.
RULES = ("min_rating", "price_present", "price_range", "include_categories", "exclude_categories")


class Rules(Protocol):
    """What a campaign sets (`resources.campaign.CampaignRules` is the typed, documented setting)."""

    min_rating: float
    price_present: bool
    min_price: float
    max_price: float | None
    include_categories: list[str]
    exclude_categories: list[str]
    max_per_category: int
    max_per_brand: int


def _on_any_level(category_path: pd.Series, categories: list[str]) -> pd.Series:
    """Whether any level of each `|`-separated path is one of `categories` (case-insensitive)."""
    wanted = {name.strip().lower() for name in categories}
    levels = category_path.fillna("").astype(str).str.lower().str.split("|").explode().str.strip()
    return levels.isin(wanted).groupby(level=0).any().reindex(category_path.index, fill_value=False)


def broken_rules(products: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """One boolean column per rule of `RULES`, True where the product breaks it (index: the products').

    A product without a rating passes `min_rating` (its catalog may rate nothing: docs/picks.md); the price range
    judges the discounted price where there is one (`price_present` is the rule about having one)."""
    price = products["discounted_price"]
    has_price = price.notna() & (price > 0)
    rating = products["rating"]
    highest = np.inf if rules.max_price is None else rules.max_price
    return pd.DataFrame(
        {
            "min_rating": rating < rules.min_rating,
            "price_present": rules.price_present & ~has_price,
            "price_range": has_price & ((price < rules.min_price) | (price > highest)),
            "include_categories": bool(rules.include_categories)
            & ~_on_any_level(products["category_path"], rules.include_categories),
            "exclude_categories": _on_any_level(products["category_path"], rules.exclude_categories),
        },
        index=products.index,
    ).astype(bool)


def brands(names: pd.Series) -> pd.Series:
    """The brand of each product: the first word of its name, lower case, letters and digits only (empty: none)."""
    return (
        names.fillna("")
        .astype(str)
        .str.strip()
        .str.split()
        .str[0]
        .fillna("")
        .str.lower()
        .str.replace(r"[^0-9a-z]", "", regex=True)
    )
