import gzip
import time

import pandas as pd
import pytest

from recsys_assets.catalog.reading import InputFileError
from recsys_assets.formats.order_lines import read_order_lines
from recsys_assets.formats.tables import (
    CUSTOMER_COLUMNS,
    DEFAULT_OPTIONS,
    EVENT_COLUMNS,
    PRODUCT_COLUMNS,
    ReadOptions,
)
from recsys_assets_tests.conftest import shared_file

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def read(*lines: str, options: ReadOptions = DEFAULT_OPTIONS):
    return read_order_lines((HEADER + "\n".join(lines) + "\n").encode(), "orders.csv", options)


def test_a_line_is_a_purchase_event_with_its_revenue_and_utc_time():
    tables = read("536365,85123A,WHITE HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom")
    event = tables.events.iloc[0]
    assert tuple(tables.events.columns) == EVENT_COLUMNS
    assert (event["user_id"], event["product_id"], event["event_type"], event["order_id"]) == (
        "17850",
        "85123A",
        "purchase",
        "536365",
    )
    assert event["timestamp"] == int(pd.Timestamp("2010-12-01 08:26", tz="UTC").timestamp())
    assert (event["quantity"], event["revenue"], event["source_line"]) == (6.0, pytest.approx(15.3), 2)


def test_a_cancellation_is_an_event_with_negative_quantity_and_revenue():
    tables = read(
        "536365,85123A,WHITE HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom",
        "C536379,85123A,WHITE HEART,-2,2010-12-01 09:41,2.55,17850,United Kingdom",
    )
    assert tables.events["event_type"].tolist() == ["purchase", "cancellation"]
    assert tables.events["quantity"].tolist() == [6.0, -2.0]
    assert tables.events["revenue"].tolist() == [pytest.approx(15.3), pytest.approx(-5.1)]
    assert tables.rejected.empty


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("POST", "stock code POST is postage, not a product"),
        ("DOT", "stock code DOT is postage, not a product"),
        ("m", "stock code m is a manual entry, not a product"),
        ("BANK CHARGES", "stock code BANK CHARGES is bank charges, not a product"),
        ("gift_0001_20", "stock code gift_0001_20 is a gift voucher, not a product"),
    ],
)
def test_lines_of_codes_that_are_not_products_are_quarantined_with_the_reason(code, reason):
    tables = read(
        "536365,85123A,WHITE HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom",
        f"536365,{code},SOMETHING,1,2010-12-01 08:26,18.00,17850,United Kingdom",
    )
    assert tables.products["product_id"].tolist() == ["85123A"]
    assert tables.events["product_id"].tolist() == ["85123A"]
    assert tables.rejected[["source_line", "column", "reason"]].values.tolist() == [[3, "StockCode", reason]]


def test_stock_adjustments_are_quarantined_not_events():
    tables = read(
        "536365,85123A,WHITE HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom",
        "536400,85123A,damaged,-12,2010-12-02 10:00,0,,United Kingdom",
        "536401,85123A,found,5,2010-12-02 10:01,0,,United Kingdom",
        "C536402,85123A,WHITE HEART,3,2010-12-02 10:02,2.55,17850,United Kingdom",
    )
    assert len(tables.events) == 1
    assert tables.rejected["reason"].tolist() == [
        "a negative quantity outside a cancellation (a stock adjustment)",
        "price 0 and no customer (a stock adjustment)",
        "a cancellation with a positive quantity",
    ]


def test_a_line_without_a_customer_is_an_anonymous_event_and_no_customer():
    tables = read(
        "536365,85123A,WHITE HEART,6,2010-12-01 08:26,2.55,,United Kingdom",
        "536366,71053,LANTERN,1,2010-12-01 08:28,3.39,17850.0,France",
    )
    assert tables.events["user_id"].tolist() == ["", "17850"]
    assert tuple(tables.customers.columns) == CUSTOMER_COLUMNS
    assert tables.customers[["user_id", "country", "email", "consent"]].values.tolist() == [["17850", "France", "", ""]]


def test_a_customer_has_their_latest_country():
    tables = read(
        "536366,71053,LANTERN,1,2011-01-01 08:28,3.39,17850,France",
        "536365,85123A,WHITE HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom",
    )
    assert tables.customers["country"].tolist() == ["France"]


def test_a_product_has_the_latest_sale_price_and_latest_non_empty_name():
    tables = read(
        "536370,85123A,WHITE HEART NEW,6,2011-02-01 08:26,2.95,17850,United Kingdom",
        "536365,85123A,WHITE HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom",
        "536380,85123A,,6,2011-03-01 08:26,3.10,,United Kingdom",
        "C536390,85123A,WHITE HEART,-1,2011-04-01 08:26,9.99,17850,United Kingdom",
        "536395,85123A,FREE ONE,1,2011-05-01 08:26,0,17850,United Kingdom",
    )
    product = tables.products.iloc[0]
    assert tuple(tables.products.columns) == PRODUCT_COLUMNS
    assert product["product_name"] == "FREE ONE"  # the latest line with a description, a free one included
    assert (product["discounted_price"], product["actual_price"]) == (3.10, 3.10)  # no cancellation, no price 0
    assert (product["currency"], product["brand"], product["category_path"]) == ("GBP", "", "")


def test_the_currency_option_replaces_pounds():
    tables = read(
        "536365,85123A,WHITE HEART,6,2010-12-01 08:26,2.55,17850,Ireland", options=ReadOptions(currency="EUR")
    )
    assert tables.products["currency"].tolist() == ["EUR"]


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        ("536365,,WHITE HEART,6,2010-12-01 08:26,2.55,17850,UK", "StockCode", "missing stock code"),
        ("536365,85123A,WHITE HEART,six,2010-12-01 08:26,2.55,17850,UK", "Quantity", "Quantity is not a number"),
        ("536365,85123A,WHITE HEART,6,2010-12-01 08:26,£2.55,17850,UK", "UnitPrice", "UnitPrice is not a number"),
        (
            "536365,85123A,WHITE HEART,6,01/12/2010 08:26,2.55,17850,UK",
            "InvoiceDate",
            "InvoiceDate is not a date YYYY-MM-DD HH:MM from 1970 to 2106",
        ),
        (
            "536365,85123A,WHITE HEART,6,1969-12-31 23:59,2.55,17850,UK",
            "InvoiceDate",
            "InvoiceDate is not a date YYYY-MM-DD HH:MM from 1970 to 2106",
        ),
        ("536365,85123A,WHITE\x07HEART,6,2010-12-01 08:26,2.55,17850,UK", "Description", "control character"),
        ("536365,85123A,WHITE HEART,6,2010-12-01 08:26,-2.55,17850,UK", "UnitPrice", "UnitPrice is negative"),
    ],
)
def test_malformed_lines_are_quarantined_with_line_and_column(line, column, reason):
    tables = read("536360,71053,LANTERN,1,2010-12-01 08:00,3.39,17850,UK", line)
    assert tables.rejected[["source_file", "source_line", "column", "reason"]].values.tolist() == [
        ["orders.csv", 3, column, reason]
    ]
    assert '"StockCode"' in tables.rejected["raw_row"].iloc[0]
    assert len(tables.events) == 1


def test_a_row_with_the_wrong_number_of_fields_is_quarantined():
    tables = read("536360,71053,LANTERN,1,2010-12-01 08:00,3.39,17850,UK", "536361,71053,LANTERN,1")
    assert tables.rejected[["source_line", "reason"]].values.tolist() == [[3, "expected 8 fields, found 4"]]


def test_a_file_without_the_required_columns_is_refused():
    with pytest.raises(InputFileError, match="orders.csv: required columns missing: InvoiceDate"):
        read_order_lines(b"InvoiceNo,StockCode,Quantity,UnitPrice\n1,A,1,1\n", "orders.csv")


def test_online_retail_reads_every_line_into_an_event_or_the_quarantine():
    data = gzip.decompress(open(shared_file("online-retail", "online_retail.csv.gz"), "rb").read())
    started = time.perf_counter()
    tables = read_order_lines(data, "online_retail.csv")
    assert time.perf_counter() - started < 60
    events, rejected = tables.events, tables.rejected
    assert len(events) + len(rejected) == 541_909
    # SOURCE.txt: 25,900 invoices, 4,372 customers; 9 customers have no product sale at all
    assert pd.concat([events["order_id"], rejected["raw_row"].str.extract(r'"InvoiceNo": "(\w+)"')[0]]).nunique() == (
        25_900
    )
    assert len(tables.customers) == 4_363
    assert (events["event_type"] == "cancellation").sum() == 8_704
    assert rejected["reason"].value_counts()["stock code POST is postage, not a product"] == 1_256
    first = events.iloc[0]
    assert (first["order_id"], first["product_id"], first["user_id"], first["quantity"]) == (
        "536365",
        "85123A",
        "17850",
        6.0,
    )
