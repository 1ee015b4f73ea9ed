"""The Kaggle "Amazon Sales" export (amazon.csv): one row per product with comma-joined reviewer lists."""

from __future__ import annotations

import pandas as pd

from recsys_assets.catalog.reading import parse_catalog_csv
from recsys_assets.catalog.tables import build_products, explode_reviews, user_ages
from recsys_assets.curation.rules import brands
from recsys_assets.formats.tables import (
    CUSTOMER_COLUMNS,
    DEFAULT_OPTIONS,
    PRODUCT_COLUMNS,
    REVIEW_COLUMNS,
    FileTables,
    ReadOptions,
)

FORMAT = "kaggle"
# The export's prices are in Indian rupees.
CURRENCY = "INR"


def read_kaggle(data: bytes, source: str, options: ReadOptions = DEFAULT_OPTIONS) -> FileTables:
    """Products, reviews and the reviewers (name, age) of one export; bad rows quarantined (docs/input.md)."""
    parsed = parse_catalog_csv(data, source, options.fallback_encoding, options.limits)
    products = build_products(parsed.rows)
    products["brand"] = brands(products["product_name"]).astype("string")
    products["currency"] = options.currency or CURRENCY
    reviews = explode_reviews(parsed.rows).assign(rating=float("nan"))
    return FileTables(
        FORMAT,
        products=products[list(PRODUCT_COLUMNS)].reset_index(drop=True),
        customers=reviewers(reviews, parsed.rows),
        reviews=reviews[list(REVIEW_COLUMNS)],
        rejected=parsed.rejected,
        fallback_lines=parsed.fallback_lines,
    )


def reviewers(reviews: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """One customer per reviewer: the latest non-empty name and the age the export gives (no address, no consent)."""
    named = reviews[reviews["user_name"].fillna("") != ""].sort_values("timestamp", kind="stable")
    names = named.drop_duplicates("user_id", keep="last").set_index("user_id")["user_name"]
    ids = pd.Index(reviews["user_id"].drop_duplicates().sort_values(), name="user_id")
    customers = pd.DataFrame({"user_name": names.reindex(ids).fillna("")}, index=ids).reset_index()
    for column in ("email", "consent", "country", "locale"):
        customers[column] = ""
    ages = user_ages(rows).set_index("user_id")["age"] if "age" in rows.columns else pd.Series(dtype="Int64")
    customers["age"] = customers["user_id"].map(ages).astype("Int64")
    return customers[list(CUSTOMER_COLUMNS)].astype({c: "string" for c in CUSTOMER_COLUMNS if c != "age"})
