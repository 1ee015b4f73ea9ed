"""Pandera models: each table's shape, described once and enforced by asset checks."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from recsys_assets.catalog.fields import AGE_RANGE, MAX_ID_CHARS, MAX_NUMBER, TIMESTAMP_RANGE
from recsys_assets.emails.recipients import REASONS, valid_addresses
from recsys_assets.formats.tables import CONSENT_STATES
from recsys_assets.segmentation import MAX_SEGMENT_CHARS

LABELS = ["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"]
# a present, stripped id of at most MAX_ID_CHARS characters, as reading enforces and Personalize requires
ID = {"min_value": 1, "max_value": MAX_ID_CHARS}


class RejectedRows(pa.DataFrameModel):
    """The quarantine: where each rejected row came from, why, and the row itself."""

    source_file: Series[str]
    source_line: Series[int] = pa.Field(ge=1)
    column: Series[str]
    reason: Series[str] = pa.Field(str_length={"min_value": 1})
    raw_row: Series[str]


class FileProducts(pa.DataFrameModel):
    """One input file's products (formats.tables.PRODUCT_COLUMNS): NaN where the file gives no price or rating."""

    product_id: Series[str] = pa.Field(unique=True, str_length=ID)
    product_name: Series[str]
    category_path: Series[str] = pa.Field(nullable=True)
    top_category: Series[str]
    leaf_category: Series[str]
    category_depth: Series[int] = pa.Field(ge=0)
    brand: Series[str]
    discounted_price: Series[float] = pa.Field(ge=0, le=MAX_NUMBER, nullable=True)
    actual_price: Series[float] = pa.Field(ge=0, le=MAX_NUMBER, nullable=True)
    discount_percentage: Series[float] = pa.Field(ge=0, le=100, nullable=True)
    rating: Series[float] = pa.Field(ge=0, le=5, nullable=True)
    rating_count: Series[pd.Int64Dtype] = pa.Field(ge=0, le=MAX_NUMBER, nullable=True)
    about_product: Series[str] = pa.Field(nullable=True)
    img_link: Series[str] = pa.Field(nullable=True)
    product_link: Series[str] = pa.Field(nullable=True)
    currency: Series[str] = pa.Field(str_matches=r"^([A-Z]{3})?$")  # ISO 4217, "" for the brand's

    class Config:
        strict = True


class Products(FileProducts):
    """Every file's products, a later file's row winning."""


class CustomerContacts(pa.DataFrameModel):
    """A customer's id and what the files say of them: "" where they do not say."""

    user_id: Series[str] = pa.Field(unique=True, str_length=ID)
    user_name: Series[str]
    email: Series[str]
    consent: Series[str] = pa.Field(isin=list(CONSENT_STATES))
    country: Series[str]
    locale: Series[str]


class FileCustomers(CustomerContacts):
    """One input file's customers (formats.tables.CUSTOMER_COLUMNS)."""

    age: Series[pd.Int64Dtype] = pa.Field(ge=AGE_RANGE[0], le=AGE_RANGE[1], nullable=True)

    class Config:
        strict = True


class FileEvents(pa.DataFrameModel):
    """One input file's events but reviews (formats.tables.EVENT_COLUMNS); user_id "" for an anonymous one."""

    user_id: Series[str] = pa.Field(str_length={"max_value": MAX_ID_CHARS})
    product_id: Series[str] = pa.Field(str_length=ID)
    timestamp: Series[int] = pa.Field(ge=TIMESTAMP_RANGE[0], le=TIMESTAMP_RANGE[1])
    event_type: Series[str] = pa.Field(str_matches=r"^[a-z0-9][a-z0-9_-]*$")
    event_value: Series[float] = pa.Field(nullable=True)
    quantity: Series[float]
    revenue: Series[float]
    order_id: Series[str]
    source_file: Series[str] = pa.Field(str_length={"min_value": 1})
    source_line: Series[int] = pa.Field(ge=1)

    class Config:
        strict = True


class Events(FileEvents):
    """Every file's events (an event in a later file too is that file's)."""


class Users(CustomerContacts):
    """One row per customer with an interaction: the contact fields the files give, what they interacted with."""

    interaction_count: Series[int] = pa.Field(ge=1)
    favourite_category: Series[str]


class FileReviews(pa.DataFrameModel):
    """One input file's reviews (formats.tables.REVIEW_COLUMNS)."""

    review_id: Series[str]
    user_id: Series[str] = pa.Field(str_length=ID)
    product_id: Series[str] = pa.Field(str_length=ID)
    user_name: Series[str] = pa.Field(nullable=True)
    review_title: Series[str] = pa.Field(nullable=True)
    review_content: Series[str] = pa.Field(nullable=True)
    text_aligned: Series[bool]
    timestamp: Series[int] = pa.Field(ge=TIMESTAMP_RANGE[0], le=TIMESTAMP_RANGE[1])
    rating: Series[float] = pa.Field(ge=0, le=5, nullable=True)
    source_file: Series[str] = pa.Field(str_length={"min_value": 1})
    source_line: Series[int] = pa.Field(ge=1)

    class Config:
        strict = True
        unique = ["user_id", "product_id"]


class Reviews(FileReviews):
    """Every file's reviews, one per (user, product), a later file's winning."""


class FileSuppressions(pa.DataFrameModel):
    """One input file's suppressed addresses or customers (formats.tables.SUPPRESSION_COLUMNS)."""

    email: Series[str]
    user_id: Series[str]
    reason: Series[str]
    source_file: Series[str] = pa.Field(str_length={"min_value": 1})
    source_line: Series[int] = pa.Field(ge=1)

    class Config:
        strict = True

    @pa.dataframe_check
    def names_an_address_or_a_customer(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["email"] != "") | (df["user_id"] != "")


class ReviewSentiment(pa.DataFrameModel):
    """Amazon Comprehend's shape: a label and four scores that sum to one."""

    user_id: Series[str]
    product_id: Series[str]
    Sentiment: Series[str] = pa.Field(isin=LABELS)
    Positive: Series[float] = pa.Field(ge=0, le=1)
    Negative: Series[float] = pa.Field(ge=0, le=1)
    Neutral: Series[float] = pa.Field(ge=0, le=1)
    Mixed: Series[float] = pa.Field(ge=0, le=1)

    class Config:
        unique = ["user_id", "product_id"]

    @pa.dataframe_check
    def scores_sum_to_one(cls, df: pd.DataFrame) -> Series[bool]:
        return (df[["Positive", "Negative", "Neutral", "Mixed"]].sum(axis=1) - 1.0).abs() < 1e-3


class FileSentiment(ReviewSentiment):
    """One input file's review scores, each with the file it came from (unique per review within the file)."""

    source_file: Series[str] = pa.Field(str_length={"min_value": 1})


class CustomerSegments(pa.DataFrameModel):
    user_id: Series[str] = pa.Field(unique=True, str_length=ID)
    segment: Series[str] = pa.Field(
        str_matches=r"^[a-z0-9]+(-[a-z0-9]+)*$", str_length={"min_value": 1, "max_value": MAX_SEGMENT_CHARS}
    )


class VariantFamilies(pa.DataFrameModel):
    """Each product's variant family (`curation.variants`): named after its smallest product_id."""

    product_id: Series[str] = pa.Field(unique=True, str_length=ID)
    family_id: Series[str] = pa.Field(str_length=ID)
    family_size: Series[int] = pa.Field(ge=1)


class Interactions(pa.DataFrameModel):
    """Amazon Personalize's interactions dataset."""

    USER_ID: Series[str] = pa.Field(str_length=ID)
    ITEM_ID: Series[str] = pa.Field(str_length=ID)
    TIMESTAMP: Series[int] = pa.Field(ge=0)
    EVENT_TYPE: Series[str]
    EVENT_VALUE: Series[float] = pa.Field(ge=0, le=1)

    class Config:
        unique = ["USER_ID", "ITEM_ID"]


class Recommendations(pa.DataFrameModel):
    USER_ID: Series[str]
    RANK: Series[int] = pa.Field(ge=1)
    ITEM_ID: Series[str]
    SCORE: Series[float]
    SOURCE: Series[str] = pa.Field(isin=["als", "item-item", "popularity", "personalize"])

    class Config:
        unique = ["USER_ID", "RANK"]

    @pa.dataframe_check
    def no_item_twice_for_a_user(cls, df: pd.DataFrame) -> bool:
        return not df.duplicated(["USER_ID", "ITEM_ID"]).any()


class Emails(pa.DataFrameModel):
    user_id: Series[str] = pa.Field(unique=True)
    subject: Series[str]
    key: Series[str]
    status: Series[str] = pa.Field(isin=["written", "failed"])
    error: Series[str]

    @pa.dataframe_check
    def written_emails_have_subject_and_file(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["status"] != "written") | ((df["subject"] != "") & (df["key"] != ""))


class Suppressions(pa.DataFrameModel):
    """Every suppressed address or customer (formats.tables.SUPPRESSION_COLUMNS): the inbox's suppression files
    (source_line from 1) and the profile store's list (source_line 0)."""

    email: Series[str]
    user_id: Series[str]
    reason: Series[str]
    source_file: Series[str] = pa.Field(str_length={"min_value": 1})
    source_line: Series[int] = pa.Field(ge=0)

    @pa.dataframe_check
    def names_an_address_or_a_customer(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["email"] != "") | (df["user_id"] != "")


class Recipients(pa.DataFrameModel):
    """Per customer, their address and why they get no email ("" : they may be written to, at a valid address)."""

    user_id: Series[str] = pa.Field(unique=True, str_length=ID)
    email: Series[str]
    reason: Series[str] = pa.Field(isin=["", *REASONS])

    @pa.dataframe_check
    def a_recipient_has_a_valid_address(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["reason"] != "") | valid_addresses(df["email"])


TABLE_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "file_products": FileProducts,
    "file_customers": FileCustomers,
    "file_events": FileEvents,
    "file_reviews": FileReviews,
    "file_suppressions": FileSuppressions,
    "rejected_rows": RejectedRows,
    "products": Products,
    "events": Events,
    "users": Users,
    "reviews": Reviews,
    "file_sentiment": FileSentiment,
    "review_sentiment": ReviewSentiment,
    "customer_segments": CustomerSegments,
    "variant_families": VariantFamilies,
    "interactions": Interactions,
    "recommendations": Recommendations,
    "emails": Emails,
    "suppressions": Suppressions,
    "recipients": Recipients,
}
