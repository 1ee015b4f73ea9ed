"""The tables every input format is read into, one set per input file, with their columns (docs/own-data.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from recsys_assets.catalog.reading import InputLimits

# One row per product a file describes (a later file's row wins); "" or NaN where the file does not say.
# brand and leaf_category "" mean "not capped" by the campaign's rules; currency "" means the brand's currency.
PRODUCT_COLUMNS = (
    "product_id",
    "product_name",
    "category_path",  # levels joined by "|", as the Kaggle export writes them
    "top_category",
    "leaf_category",
    "category_depth",  # int64, 0 without a category
    "brand",
    "discounted_price",  # float64: the price a customer pays now (NaN: unknown)
    "actual_price",  # float64: the list price (NaN: unknown)
    "discount_percentage",  # float64
    "rating",  # float64 stars 0-5 (NaN: not rated)
    "rating_count",  # Int64 (NA: not given)
    "about_product",
    "img_link",
    "product_link",
    "currency",  # ISO 4217 code of the prices ("" : the brand's)
)
# One row per customer a file describes; consent is one of CONSENT_STATES.
CUSTOMER_COLUMNS = ("user_id", "user_name", "email", "consent", "country", "locale", "age")  # age: Int64, NA unknown
OPTED_IN = "opted_in"
UNSUBSCRIBED = "unsubscribed"
CONSENT_STATES = (OPTED_IN, UNSUBSCRIBED, "")  # "": the file does not say
# One row per event that is not a review (a purchase, an add-to-cart, a view, ...); user_id "" for an anonymous one
# (it counts for popularity only). event_value NaN where the file gives none; quantity and revenue 0 where not known.
EVENT_COLUMNS = (
    "user_id",
    "product_id",
    "timestamp",  # int64 epoch seconds
    "event_type",  # lower case: purchase, add-to-cart, view, ... (Personalize's EVENT_TYPE)
    "event_value",  # float64 (Personalize's EVENT_VALUE) or NaN
    "quantity",  # float64 units, net of cancellations
    "revenue",  # float64 quantity * unit price, in the product's currency
    "order_id",
    "source_file",
    "source_line",  # int64
)
# One row per (user, product) review, as the reviews table has always had, plus the review's own stars (NaN if none).
REVIEW_COLUMNS = (
    "review_id",
    "user_id",
    "product_id",
    "user_name",
    "review_title",
    "review_content",
    "text_aligned",  # bool
    "timestamp",  # int64 epoch seconds
    "rating",  # float64 stars of this review, NaN where the file gives the product's rating only
    "source_file",
    "source_line",  # int64
)
# One row per suppressed address or customer (either may be ""; an email is compared lower case).
SUPPRESSION_COLUMNS = ("email", "user_id", "reason", "source_file", "source_line")

_INTEGER_COLUMNS = {"category_depth", "timestamp", "source_line"}
_FLOAT_COLUMNS = {
    "discounted_price",
    "actual_price",
    "discount_percentage",
    "rating",
    "event_value",
    "quantity",
    "revenue",
}
_TYPES = {"text_aligned": "bool", "rating_count": "Int64", "age": "Int64"}


def empty_table(columns: tuple[str, ...]) -> pd.DataFrame:
    """A table with no rows and the given columns in their types (strings as pandas' "string")."""
    return pd.DataFrame(
        {
            name: pd.Series(
                dtype="int64"
                if name in _INTEGER_COLUMNS
                else "float64"
                if name in _FLOAT_COLUMNS
                else _TYPES.get(name, "string")
            )
            for name in columns
        }
    )


@dataclass(frozen=True)
class ReadOptions:
    """How to read one file: the fallback encoding, the size limits, the file's names of our columns (a column
    mapping; a name not in it is the file's too) and the currency of its prices ("" : the format's default)."""

    fallback_encoding: str | None = None
    limits: InputLimits = InputLimits()
    columns: dict[str, str] = field(default_factory=dict)
    currency: str = ""


DEFAULT_OPTIONS = ReadOptions()


@dataclass(frozen=True)
class FileTables:
    """What one input file holds, whatever its format: each table has exactly its *_COLUMNS, in order; `rejected`
    is the quarantine (catalog.reading.REJECTED_COLUMNS), `fallback_lines` the lines decoded with the fallback."""

    format: str
    products: pd.DataFrame = field(default_factory=lambda: empty_table(PRODUCT_COLUMNS))
    customers: pd.DataFrame = field(default_factory=lambda: empty_table(CUSTOMER_COLUMNS))
    events: pd.DataFrame = field(default_factory=lambda: empty_table(EVENT_COLUMNS))
    reviews: pd.DataFrame = field(default_factory=lambda: empty_table(REVIEW_COLUMNS))
    suppressions: pd.DataFrame = field(default_factory=lambda: empty_table(SUPPRESSION_COLUMNS))
    rejected: pd.DataFrame | None = None
    fallback_lines: list[int] = field(default_factory=list)
