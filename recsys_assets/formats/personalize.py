"""Amazon Personalize's dataset CSVs (items, users, interactions, reviews; told apart by header) read into
FileTables: bad rows quarantined with line, column and reason, a repeated id keeping its last row (docs/own-data.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_assets.catalog.fields import AGE_RANGE, MAX_NUMBER, whole_numbers
from recsys_assets.catalog.reading import SOURCE_COLUMNS, InputFileError, concat_rejected, first_faults, read_csv_rows
from recsys_assets.catalog.tables import latest_known
from recsys_assets.formats.rules import Fault, epoch_seconds, id_faults, number, text, text_faults
from recsys_assets.formats.tables import (
    CUSTOMER_COLUMNS,
    DEFAULT_OPTIONS,
    EVENT_COLUMNS,
    OPTED_IN,
    PRODUCT_COLUMNS,
    REVIEW_COLUMNS,
    UNSUBSCRIBED,
    FileTables,
    ReadOptions,
    empty_table,
)

FORMAT = "personalize"
ITEMS, USERS, INTERACTIONS, REVIEWS = "items", "users", "interactions", "reviews"
CATEGORY_LEVELS = ("CATEGORY_L1", "CATEGORY_L2", "CATEGORY_L3", "CATEGORY_L4")
# Every column a dataset reads (the file may have others: they are ignored).
DATASET_COLUMNS = {
    ITEMS: (
        "ITEM_ID",
        "NAME",
        "DESCRIPTION",
        "CATEGORY",
        *CATEGORY_LEVELS,
        "BRAND",
        "PRICE",
        "LIST_PRICE",
        "CURRENCY",
        "IMAGE_URL",
        "PRODUCT_URL",
        "RATING",
        "RATING_COUNT",
    ),
    USERS: ("USER_ID", "NAME", "FIRST_NAME", "LAST_NAME", "EMAIL", "CONSENT", "COUNTRY", "LOCALE", "AGE"),
    INTERACTIONS: ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "QUANTITY", "PRICE", "ORDER_ID"),
    REVIEWS: ("USER_ID", "ITEM_ID", "TIMESTAMP", "TEXT", "TITLE", "RATING", "REVIEW_ID"),
}
COLUMNS = tuple(dict.fromkeys(c for columns in DATASET_COLUMNS.values() for c in columns))
EVENT_KEYS = ("USER_ID", "ITEM_ID", "TIMESTAMP")
REVIEW_TEXTS = ("TEXT", "TITLE")
# CONSENT values, compared lower case; "" is "not known".
CONSENT_VALUES = {
    **dict.fromkeys(("opted_in", "opted-in", "opt_in", "true", "yes", "y", "1", "subscribed"), OPTED_IN),
    **dict.fromkeys(("unsubscribed", "opted_out", "opted-out", "opt_out", "false", "no", "n", "0"), UNSUBSCRIBED),
    "": "",
}
CURRENCY_CODE = r"[A-Z]{3}"


def dataset_of(columns: set[str]) -> str | None:
    """Which dataset a header (upper-case names) is: items, users, interactions, reviews, or None."""
    if "ITEM_ID" in columns and "USER_ID" not in columns:
        return ITEMS
    if "USER_ID" in columns and "ITEM_ID" not in columns:
        return USERS
    if set(EVENT_KEYS) <= columns:
        return REVIEWS if columns & set(REVIEW_TEXTS) else INTERACTIONS
    return None


def missing_columns(columns: set[str]) -> list[str]:
    """What a header that is no dataset lacks."""
    if {"USER_ID", "ITEM_ID"} <= columns:
        return ["TIMESTAMP"]
    return ["ITEM_ID (items) or USER_ID (users)"]


def read_personalize(data: bytes, source: str, options: ReadOptions = DEFAULT_OPTIONS) -> FileTables:
    """One Personalize dataset CSV (upper-case header names, as formats.reading.read_input spells them)."""
    read = read_csv_rows(data, source, (), options.fallback_encoding, options.limits)
    dataset = dataset_of(set(read.rows.columns))
    if dataset is None:
        missing = ", ".join(missing_columns(set(read.rows.columns)))
        raise InputFileError(source, f"not a Personalize dataset: required columns missing: {missing}")
    rows = read.rows[[*SOURCE_COLUMNS, *[c for c in read.rows.columns if c in DATASET_COLUMNS[dataset]]]]
    reader = {ITEMS: _items, USERS: _users, INTERACTIONS: _interactions, REVIEWS: _reviews}[dataset]
    tables, faults = reader(rows, options)
    rejected, records = first_faults(rows, faults)
    return FileTables(
        FORMAT,
        **{name: _finish(name, table[~rejected.to_numpy()]) for name, table in tables.items()},
        rejected=concat_rejected([read.rejected, *records]),
        fallback_lines=read.fallback_lines,
    )


def _finish(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The valid rows of a table in its types: a repeated id keeps its last row (a customer: each field's latest
    non-empty value); sorted by id (events in file order)."""
    if table == "products":
        frame = frame.drop_duplicates("product_id", keep="last").sort_values("product_id", kind="stable")
    elif table == "customers":  # per column, the latest non-empty value: a blank repeat keeps "unsubscribed"
        columns = [c for c in frame.columns if c != "user_id"]
        known = latest_known(frame, columns).reset_index()[list(frame.columns)]
        frame = known.fillna({c: "" for c in columns if known[c].dtype != "Int64"})
    elif table == "reviews":
        frame = frame.drop_duplicates("review_id", keep="last").drop_duplicates(["user_id", "product_id"], keep="last")
        frame = frame.sort_values(["user_id", "product_id"], kind="stable")
    return frame.reset_index(drop=True).astype(empty_table(tuple(frame.columns)).dtypes.to_dict())


def _items(rows: pd.DataFrame, options: ReadOptions) -> tuple[dict[str, pd.DataFrame], list[Fault]]:
    """products: category levels joined by "|" (or CATEGORY as given), prices, currency, links, rating."""
    price, price_faults = number(rows, "PRICE", 0.0, MAX_NUMBER)
    list_price, list_price_faults = number(rows, "LIST_PRICE", 0.0, MAX_NUMBER)
    rating, rating_faults = number(rows, "RATING", 0.0, 5.0)
    rating_count, count_faults = number(rows, "RATING_COUNT", 0.0, MAX_NUMBER)
    currency = text(rows, "CURRENCY").str.upper()
    path = category_path(rows)
    levels = path.str.split("|", regex=False)
    given = path != ""
    discount = (100 * (1 - price / list_price)).round().clip(lower=0).where(list_price > 0)
    products = pd.DataFrame(
        {
            "product_id": text(rows, "ITEM_ID"),
            "product_name": text(rows, "NAME"),
            "category_path": path,
            "top_category": levels.str[0].where(given, ""),
            "leaf_category": levels.str[-1].where(given, ""),
            "category_depth": levels.str.len().where(given, 0).astype("int64"),
            "brand": text(rows, "BRAND"),
            "discounted_price": price,
            "actual_price": list_price,
            "discount_percentage": discount,
            "rating": rating,
            "rating_count": rating_count.round().astype("Int64"),
            "about_product": text(rows, "DESCRIPTION"),
            "img_link": text(rows, "IMAGE_URL"),
            "product_link": text(rows, "PRODUCT_URL"),
            "currency": currency.where(currency != "", options.currency),
        }
    )[list(PRODUCT_COLUMNS)]
    faults = [
        *text_faults(rows, options.limits),
        *id_faults(rows, "ITEM_ID"),
        *price_faults,
        *list_price_faults,
        *rating_faults,
        *count_faults,
        (rating_count.notna() & (rating_count != rating_count.round()), "RATING_COUNT", "RATING_COUNT is not whole"),
        ((currency != "") & ~currency.str.fullmatch(CURRENCY_CODE), "CURRENCY", "CURRENCY is not a 3-letter code"),
    ]
    return {"products": products}, faults


def category_path(rows: pd.DataFrame) -> pd.Series:
    """CATEGORY_L1 ... CATEGORY_L4 joined by "|" (empty levels skipped), else CATEGORY with its "|" levels
    stripped; "" without a category."""
    levels = [c for c in CATEGORY_LEVELS if c in rows.columns]
    if not levels:
        pieces = (
            text(rows, "CATEGORY").str.replace(r"\s*\|\s*", "|", regex=True).str.replace(r"\|{2,}", "|", regex=True)
        )
        return pieces.str.strip("|")
    path = pd.Series("", index=rows.index, dtype="string")
    for level in levels:
        value = text(rows, level)
        separator = pd.Series(np.where((path != "") & (value != ""), "|", ""), index=rows.index, dtype="string")
        path = path + separator + value
    return path


def _users(rows: pd.DataFrame, options: ReadOptions) -> tuple[dict[str, pd.DataFrame], list[Fault]]:
    """customers: name (NAME, else FIRST_NAME LAST_NAME), email as given but stripped, consent, country, locale,
    age."""
    consent_text = text(rows, "CONSENT").str.lower()
    consent = consent_text.map(CONSENT_VALUES).astype("string")
    age_text = text(rows, "AGE")
    age = whole_numbers(age_text, *AGE_RANGE)
    full_name = (text(rows, "FIRST_NAME") + " " + text(rows, "LAST_NAME")).str.strip()
    name = text(rows, "NAME")
    customers = pd.DataFrame(
        {
            "user_id": text(rows, "USER_ID"),
            "user_name": name.where(name != "", full_name),
            "email": text(rows, "EMAIL"),
            "consent": consent.fillna(""),
            "country": text(rows, "COUNTRY"),
            "locale": text(rows, "LOCALE"),
            "age": age.round().astype("Int64"),
        }
    )[list(CUSTOMER_COLUMNS)]
    low, high = AGE_RANGE
    faults = [
        *text_faults(rows, options.limits),
        *id_faults(rows, "USER_ID"),
        (consent.isna(), "CONSENT", "CONSENT is not one of " + ", ".join(v for v in CONSENT_VALUES if v)),
        ((age_text != "") & age.isna(), "AGE", f"AGE is not a whole number of years from {low} to {high}"),
    ]
    return {"customers": customers}, faults


def _interactions(rows: pd.DataFrame, options: ReadOptions) -> tuple[dict[str, pd.DataFrame], list[Fault]]:
    """events: EVENT_TYPE lower case, EVENT_VALUE NaN when absent, revenue QUANTITY * PRICE where both are given."""
    timestamp, timestamp_faults = epoch_seconds(rows)
    event_value, value_faults = number(rows, "EVENT_VALUE", -MAX_NUMBER, MAX_NUMBER)
    quantity, quantity_faults = number(rows, "QUANTITY", 0.0, MAX_NUMBER)
    price, price_faults = number(rows, "PRICE", 0.0, MAX_NUMBER)
    events = pd.DataFrame(
        {
            "user_id": text(rows, "USER_ID"),
            "product_id": text(rows, "ITEM_ID"),
            "timestamp": timestamp.fillna(0).astype("int64"),
            "event_type": text(rows, "EVENT_TYPE").str.lower(),
            "event_value": event_value,
            "quantity": quantity.fillna(0.0),
            "revenue": (quantity * price).fillna(0.0),
            "order_id": text(rows, "ORDER_ID"),
            "source_file": rows["source_file"],
            "source_line": rows["source_line"],
        }
    )[list(EVENT_COLUMNS)]
    faults = [
        *text_faults(rows, options.limits),
        *id_faults(rows, "USER_ID"),
        *id_faults(rows, "ITEM_ID"),
        *timestamp_faults,
        *value_faults,
        *quantity_faults,
        *price_faults,
    ]
    return {"events": events}, faults


def _reviews(rows: pd.DataFrame, options: ReadOptions) -> tuple[dict[str, pd.DataFrame], list[Fault]]:
    """reviews: REVIEW_ID (else an id derived from user, item and timestamp), TITLE, TEXT, the review's RATING."""
    timestamp, timestamp_faults = epoch_seconds(rows)
    rating, rating_faults = number(rows, "RATING", 0.0, 5.0)
    user_id, product_id = text(rows, "USER_ID"), text(rows, "ITEM_ID")
    review_id = text(rows, "REVIEW_ID")
    keys = pd.DataFrame({"user_id": user_id, "product_id": product_id, "timestamp": timestamp.fillna(0)})
    derived = pd.Series(pd.util.hash_pandas_object(keys, index=False).to_numpy(), index=rows.index)
    reviews = pd.DataFrame(
        {
            "review_id": review_id.where(review_id != "", "r" + derived.astype("string")),
            "user_id": user_id,
            "product_id": product_id,
            "user_name": "",
            "review_title": text(rows, "TITLE"),
            "review_content": text(rows, "TEXT"),
            "text_aligned": True,
            "timestamp": timestamp.fillna(0).astype("int64"),
            "rating": rating,
            "source_file": rows["source_file"],
            "source_line": rows["source_line"],
        }
    )[list(REVIEW_COLUMNS)]
    faults = [
        *text_faults(rows, options.limits, item_columns=REVIEW_TEXTS),
        *id_faults(rows, "USER_ID"),
        *id_faults(rows, "ITEM_ID"),
        *id_faults(rows, "REVIEW_ID", required=False),
        *timestamp_faults,
        *rating_faults,
    ]
    return {"reviews": reviews}, faults
