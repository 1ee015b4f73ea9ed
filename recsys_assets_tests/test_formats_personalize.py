"""Amazon Personalize's dataset CSVs read into FileTables: each rule on the smallest file that shows it."""

import math

import pytest

from recsys_assets.catalog.reading import InputFileError, InputLimits
from recsys_assets.formats.personalize import read_personalize
from recsys_assets.formats.reading import read_input
from recsys_assets.formats.tables import (
    CUSTOMER_COLUMNS,
    DEFAULT_OPTIONS,
    EVENT_COLUMNS,
    PRODUCT_COLUMNS,
    REVIEW_COLUMNS,
    ReadOptions,
)


def read(text: str, options: ReadOptions = DEFAULT_OPTIONS):
    return read_personalize(text.encode(), "f.csv", options)


def faults(tables) -> list[list]:
    return tables.rejected[["source_line", "column", "reason"]].values.tolist()


def test_items_become_products_with_category_levels_prices_currency_links_and_rating():
    tables = read(
        "ITEM_ID,NAME,DESCRIPTION,CATEGORY_L1,CATEGORY_L2,CATEGORY_L3,BRAND,PRICE,LIST_PRICE,CURRENCY,"
        "IMAGE_URL,PRODUCT_URL,RATING,RATING_COUNT\n"
        "i1,Mug,A big mug,Home,,Mugs,Acme,7.5,10,gbp,https://x/i.jpg,https://x/i1,4.5,12\n"
    )
    assert tables.format == "personalize" and list(tables.products.columns) == list(PRODUCT_COLUMNS)
    assert tables.products.iloc[0].to_dict() == {
        "product_id": "i1",
        "product_name": "Mug",
        "category_path": "Home|Mugs",
        "top_category": "Home",
        "leaf_category": "Mugs",
        "category_depth": 2,
        "brand": "Acme",
        "discounted_price": 7.5,
        "actual_price": 10.0,
        "discount_percentage": 25.0,
        "rating": 4.5,
        "rating_count": 12,
        "about_product": "A big mug",
        "img_link": "https://x/i.jpg",
        "product_link": "https://x/i1",
        "currency": "GBP",
    }
    assert tables.rejected.empty and tables.customers.empty and tables.events.empty


def test_a_category_column_keeps_its_levels_and_no_category_is_depth_zero():
    products = read("ITEM_ID,CATEGORY\ni1,Home | Kitchen||Mugs\ni2,\n").products
    assert products[["category_path", "top_category", "leaf_category", "category_depth"]].values.tolist() == [
        ["Home|Kitchen|Mugs", "Home", "Mugs", 3],
        ["", "", "", 0],
    ]


def test_an_item_without_a_price_or_currency_takes_nan_and_the_files_currency():
    products = read("ITEM_ID,NAME\ni1,Mug\n", ReadOptions(currency="EUR")).products
    assert math.isnan(products["discounted_price"].iloc[0]) and products["currency"].tolist() == ["EUR"]
    assert products["rating_count"].isna().all() and products["brand"].tolist() == [""]


def test_a_repeated_item_id_keeps_its_last_row():
    products = read("ITEM_ID,NAME\ni2,Cup\ni1,Mug\ni2,Big cup\n").products
    assert products[["product_id", "product_name"]].values.tolist() == [["i1", "Mug"], ["i2", "Big cup"]]


LIMITS = ReadOptions(limits=InputLimits(max_item_chars=10, max_field_chars=300))


@pytest.mark.parametrize(
    ("header", "bad_row", "column", "reason"),
    [
        ("ITEM_ID,NAME", ",Cup", "ITEM_ID", "missing ITEM_ID"),
        ("ITEM_ID,NAME", "i" * 257 + ",Cup", "ITEM_ID", "ITEM_ID longer than 256 characters"),
        ("ITEM_ID,PRICE", "i2,1.099,00", "", "expected 2 fields, found 3"),
        ("ITEM_ID,PRICE", "i2,₹5", "PRICE", "PRICE is not a number"),
        ("ITEM_ID,PRICE", "i2,-1", "PRICE", "PRICE out of range"),
        ("ITEM_ID,LIST_PRICE", "i2,inf", "LIST_PRICE", "LIST_PRICE out of range"),
        ("ITEM_ID,RATING", "i2,5.5", "RATING", "RATING out of range"),
        ("ITEM_ID,RATING_COUNT", "i2,2.5", "RATING_COUNT", "RATING_COUNT is not whole"),
        ("ITEM_ID,CURRENCY", "i2,£", "CURRENCY", "CURRENCY is not a 3-letter code"),
        ("ITEM_ID,NAME", "i2,Cup\x07", "NAME", "control character"),
        ("ITEM_ID,NAME", "i2," + "x" * 301, "NAME", "longer than 300 characters"),
    ],
)
def test_a_bad_item_row_is_quarantined_with_line_column_and_reason(header, bad_row, column, reason):
    good = {"ITEM_ID,NAME": "i1,Mug", "ITEM_ID,PRICE": "i1,5", "ITEM_ID,LIST_PRICE": "i1,5"}.get(header, "i1,")
    tables = read(f"{header}\n{good}\n{bad_row}\n", LIMITS)
    assert tables.products["product_id"].tolist() == ["i1"]
    assert faults(tables) == [[3, column, reason]]


def test_users_become_customers_with_name_email_as_given_consent_country_locale_and_age():
    tables = read(
        "USER_ID,FIRST_NAME,LAST_NAME,EMAIL,CONSENT,COUNTRY,LOCALE,AGE\n"
        "u1,Ann,Lee, Ann.Lee@Shop.example ,Yes,GB,en_GB,34\n"
        "u2,,,not an address,,,,\n"
    )
    assert list(tables.customers.columns) == list(CUSTOMER_COLUMNS)
    assert tables.customers.astype(object).where(tables.customers.notna(), None).values.tolist() == [
        ["u1", "Ann Lee", "Ann.Lee@Shop.example", "opted_in", "GB", "en_GB", 34],
        ["u2", "", "not an address", "", "", "", None],
    ]


@pytest.mark.parametrize(
    ("given", "consent"),
    [
        ("opted_in", "opted_in"),
        ("TRUE", "opted_in"),
        ("1", "opted_in"),
        ("subscribed", "opted_in"),
        ("Unsubscribed", "unsubscribed"),
        ("opted_out", "unsubscribed"),
        ("no", "unsubscribed"),
        ("0", "unsubscribed"),
        ("", ""),
    ],
)
def test_consent_is_normalized_to_opted_in_unsubscribed_or_not_known(given, consent):
    assert read(f"USER_ID,CONSENT\nu1,{given}\n").customers["consent"].tolist() == [consent]


def test_a_name_column_wins_over_first_and_last_name():
    assert read("USER_ID,NAME,FIRST_NAME\nu1,Ann Lee,Annie\n").customers["user_name"].tolist() == ["Ann Lee"]


@pytest.mark.parametrize(
    ("bad_row", "column", "reason"),
    [
        (",maybe,30", "USER_ID", "missing USER_ID"),
        ("u2,maybe,30", "CONSENT", "CONSENT is not one of opted_in"),
        ("u2,yes,30.5", "AGE", "AGE is not a whole number of years from 0 to 150"),
        ("u2,yes,151", "AGE", "AGE is not a whole number of years from 0 to 150"),
    ],
)
def test_a_bad_user_row_is_quarantined_with_line_column_and_reason(bad_row, column, reason):
    tables = read(f"USER_ID,CONSENT,AGE\nu1,yes,30\n{bad_row}\n")
    assert tables.customers["user_id"].tolist() == ["u1"]
    [[line, where, why]] = faults(tables)
    assert (line, where) == (3, column) and why.startswith(reason)


def test_interactions_become_events_with_lower_case_types_values_and_revenue():
    tables = read(
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,QUANTITY,PRICE,ORDER_ID\n"
        "u1,i1,1700000000,Purchase,,2,3.5,o1\n"
        "u1,i2,1700000100,VIEW,0.25,,,\n"
    )
    events = tables.events
    assert list(events.columns) == list(EVENT_COLUMNS) and tables.rejected.empty
    assert events[
        ["user_id", "product_id", "timestamp", "event_type", "quantity", "revenue", "order_id"]
    ].values.tolist() == [
        ["u1", "i1", 1700000000, "purchase", 2.0, 7.0, "o1"],
        ["u1", "i2", 1700000100, "view", 0.0, 0.0, ""],
    ]
    assert math.isnan(events["event_value"].iloc[0]) and events["event_value"].iloc[1] == 0.25
    assert events[["source_file", "source_line"]].values.tolist() == [["f.csv", 2], ["f.csv", 3]]


def test_iso_8601_dates_are_read_as_utc_epoch_seconds():
    events = read(
        "USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,2024-03-01\nu1,i2,2024-03-01T10:00:00.9Z\nu1,i3,2024-03-01 12:00+02:00\n"
    ).events
    assert events["timestamp"].tolist() == [1709251200, 1709287200, 1709287200]


@pytest.mark.parametrize(
    ("bad_row", "column", "reason"),
    [
        (",i2,1700000000", "USER_ID", "missing USER_ID"),
        ("u1,,1700000000", "ITEM_ID", "missing ITEM_ID"),
        ("u1,i2,", "TIMESTAMP", "TIMESTAMP is not whole epoch seconds"),
        ("u1,i2,1700000000.5", "TIMESTAMP", "TIMESTAMP is not whole epoch seconds"),
        ("u1,i2,-5", "TIMESTAMP", "TIMESTAMP is not whole epoch seconds"),
        ("u1,i2,99999999999", "TIMESTAMP", "TIMESTAMP is not whole epoch seconds"),
        ("u1,i2,yesterday", "TIMESTAMP", "TIMESTAMP is not whole epoch seconds"),
        ("u1,i2,2024-13-45", "TIMESTAMP", "TIMESTAMP is not whole epoch seconds"),
    ],
)
def test_a_bad_interaction_row_is_quarantined_with_line_column_and_reason(bad_row, column, reason):
    tables = read(f"USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,1700000000\n{bad_row}\n")
    assert tables.events["product_id"].tolist() == ["i1"]
    [[line, where, why]] = faults(tables)
    assert (line, where) == (3, column) and why.startswith(reason)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [("EVENT_VALUE", "high", "EVENT_VALUE is not a number"), ("QUANTITY", "-1", "QUANTITY out of range")],
)
def test_event_numbers_that_are_not_numbers_or_out_of_range_are_quarantined(column, value, reason):
    tables = read(f"USER_ID,ITEM_ID,TIMESTAMP,{column}\nu1,i1,1700000000,1\nu1,i2,1700000000,{value}\n")
    assert faults(tables) == [[3, column, reason]]


def test_reviews_keep_their_id_text_and_rating_and_an_id_is_derived_stably_where_none_is_given():
    text = (
        "USER_ID,ITEM_ID,TIMESTAMP,TITLE,TEXT,RATING,REVIEW_ID\n"
        "u1,i1,1700000000,Great,Loved it,5,R1\n"
        "u2,i1,1700000000,,Broke,1,\n"
        "u3,i1,1700000000,,Broke,,\n"
    )
    reviews = read(text).reviews
    assert list(reviews.columns) == list(REVIEW_COLUMNS)
    assert reviews[["user_id", "review_title", "review_content", "text_aligned", "timestamp"]].values.tolist() == [
        ["u1", "Great", "Loved it", True, 1700000000],
        ["u2", "", "Broke", True, 1700000000],
        ["u3", "", "Broke", True, 1700000000],
    ]
    assert reviews["rating"].tolist()[:2] == [5.0, 1.0] and math.isnan(reviews["rating"].iloc[2])
    ids = reviews["review_id"].tolist()
    assert ids[0] == "R1" and len(set(ids)) == 3 and read(text).reviews["review_id"].tolist() == ids


def test_a_review_text_is_held_to_the_per_item_limit_and_a_bad_rating_quarantined():
    tables = read(
        "USER_ID,ITEM_ID,TIMESTAMP,TEXT,RATING\nu1,i1,1700000000,ok,4\nu2,i1,1700000000,far too long,4\n"
        "u3,i1,1700000000,ok,6\n",
        LIMITS,
    )
    assert tables.reviews["user_id"].tolist() == ["u1"]
    assert faults(tables) == [[3, "TEXT", "longer than 10 characters"], [4, "RATING", "RATING out of range"]]


def test_a_repeated_review_keeps_its_last_row():
    reviews = read("USER_ID,ITEM_ID,TIMESTAMP,TEXT\nu1,i1,1700000000,first\nu1,i1,1700000500,second\n").reviews
    assert reviews[["review_content", "timestamp"]].values.tolist() == [["second", 1700000500]]


def test_a_header_that_is_no_dataset_says_what_it_lacks():
    with pytest.raises(InputFileError, match="^f.csv: not a Personalize dataset: required columns missing: TIMESTAMP"):
        read("USER_ID,ITEM_ID\nu1,i1\n")


def test_header_names_are_case_insensitive_through_read_input():
    tables = read_input(b"user_id,item_id,timestamp,event_type\nu1,i1,1700000000,view\n", "events.csv")
    assert tables.format == "personalize" and tables.events["event_type"].tolist() == ["view"]


def test_columns_the_dataset_does_not_read_are_ignored():
    tables = read("ITEM_ID,NAME,WAREHOUSE\ni1,Mug,\x07\n")
    assert tables.rejected.empty and tables.products["product_name"].tolist() == ["Mug"]
