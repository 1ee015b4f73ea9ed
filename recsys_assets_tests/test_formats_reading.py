"""formats.reading.read_input: gzip, format detection from the header, explicit formats, column mapping."""

import gzip
import re
from pathlib import Path

import pandas as pd
import pytest

from recsys_assets.catalog.reading import InputFileError, InputLimits
from recsys_assets.formats.kaggle import read_kaggle
from recsys_assets.formats.mapping import ColumnMapping, FileMapping, MappingError, load_mapping
from recsys_assets.formats.reading import detect_format, read_header, read_input
from recsys_assets.formats.tables import ReadOptions

from .conftest import shared_file

ITEMS = b"ITEM_ID,NAME,PRICE\ni1,Mug,5\n"
TABLES = ("products", "customers", "events", "reviews", "suppressions", "rejected")


def assert_same_tables(one, other):
    assert one.format == other.format
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(one, table), getattr(other, table))


def test_gzip_compressed_data_is_read_as_it_is_whatever_the_name():
    assert_same_tables(read_input(gzip.compress(ITEMS), "items.txt"), read_input(ITEMS, "items.txt"))


def test_a_gzip_bomb_is_refused_once_its_decompressed_size_passes_the_limit():
    options = ReadOptions(limits=InputLimits(max_file_bytes=10_000))
    bomb = gzip.compress(ITEMS + b"i2,Cup,5\n" * 2_000)
    assert len(bomb) < 10_000
    with pytest.raises(InputFileError, match=r"^bomb.csv.gz: decompressed, more than 10,000 bytes"):
        read_input(bomb, "bomb.csv.gz", options=options)


def test_a_truncated_gzip_is_an_error_naming_the_file():
    with pytest.raises(InputFileError, match=r"^items.csv.gz: the gzip data is truncated"):
        read_input(gzip.compress(ITEMS)[:-12], "items.csv.gz")


def test_corrupt_gzip_data_is_an_error_naming_the_file():
    with pytest.raises(InputFileError, match=r"^items.csv.gz: not valid gzip data"):
        read_input(b"\x1f\x8b" + b"not deflate data", "items.csv.gz")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country", "order-lines"),
        ("invoiceno,stockcode,quantity,invoicedate,unitprice", "order-lines"),
        ("ITEM_ID,NAME,CATEGORY_L1", "personalize"),
        ("user_id,email,consent", "personalize"),
        ("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE", "personalize"),
        ("USER_ID,ITEM_ID,TIMESTAMP,TEXT,RATING", "personalize"),
        ("EMAIL", "suppression"),
        ("user_id,reason", "suppression"),
        ("EMAIL,USER_ID,REASON", "suppression"),
        ("EMAIL,,", "suppression"),
        ("EMAIL,SIGNUP_DATE", None),
        ("USER_ID,ITEM_ID", None),
        ("sku,qty", None),
    ],
)
def test_the_format_is_detected_from_the_header_case_insensitively(header, expected):
    assert detect_format(header.split(",")) == expected


def test_a_kaggle_export_is_detected_with_a_bom_and_names_in_any_case(sample_csv):
    data = sample_csv.read_bytes()
    header, rest = data.split(b"\n", 1)
    shouted = b"\xef\xbb\xbf" + header.upper() + b"\n" + rest
    assert_same_tables(read_input(shouted, "catalog.csv"), read_kaggle(data, "catalog.csv"))


def test_the_kaggle_export_read_through_read_input_equals_read_kaggle(sample_csv):
    data = sample_csv.read_bytes()
    assert_same_tables(read_input(gzip.compress(data), "catalog.csv"), read_kaggle(data, "catalog.csv"))


def test_a_header_that_fits_no_format_names_the_file_and_what_each_format_needs():
    with pytest.raises(InputFileError) as raised:
        read_input(b"sku,qty\nA,1\n", "stock.csv")
    message = str(raised.value)
    assert message.startswith("stock.csv: the header fits no format (kaggle needs product_id, product_name")
    assert "order-lines needs InvoiceNo, StockCode, Quantity, InvoiceDate, UnitPrice" in message
    assert "personalize needs ITEM_ID (items), USER_ID (users)" in message
    assert "suppression needs EMAIL and/or USER_ID" in message


@pytest.mark.parametrize(
    ("format", "data", "missing"),
    [
        ("kaggle", ITEMS, "product_id, product_name, category,"),
        ("order-lines", b"InvoiceNo,StockCode,Quantity\n1,A,2\n", "InvoiceDate, UnitPrice"),
        ("personalize", b"USER_ID,ITEM_ID\nu1,i1\n", "TIMESTAMP"),
        ("suppression", b"NAME\nAnn\n", "EMAIL or USER_ID"),
    ],
)
def test_an_explicit_format_says_which_required_columns_are_missing(format, data, missing):
    with pytest.raises(InputFileError, match=rf"^f.csv: not a {format} file: required columns missing: {missing}"):
        read_input(data, "f.csv", format)


def test_an_explicit_format_reads_a_header_detection_would_read_otherwise():
    users = read_input(b"USER_ID,EMAIL\nu1,ann@shop.example\n", "users.csv", "personalize")
    assert users.customers[["user_id", "email"]].values.tolist() == [["u1", "ann@shop.example"]]
    assert read_input(b"USER_ID,EMAIL\nu1,ann@shop.example\n", "users.csv").format == "suppression"


def test_an_unknown_format_is_refused():
    with pytest.raises(InputFileError, match=r"^f.csv: unknown format 'xlsx' \(known: auto, kaggle, personalize"):
        read_input(ITEMS, "f.csv", "xlsx")


@pytest.mark.parametrize("line_break", [b"\n", b"\r\n", b"\r"])
def test_the_header_record_ends_at_the_first_line_break_outside_quotes(line_break):
    data = b'ITEM_ID,"NA' + line_break + b'ME"' + line_break + b"i1,Mug" + line_break
    header = ["ITEM_ID", "NA" + line_break.decode() + "ME"]
    assert read_header(data) == (header, 14 + len(line_break))


MAPPING = """
[files."orders-*.csv*"]
format = "personalize"
currency = "gbp"
columns = { ITEM_ID = "SKU", PRICE = "Unit Price" }

[files."*.csv"]
columns = { EMAIL = "Mail" }
"""


def test_the_first_glob_that_matches_the_file_name_gives_its_mapping():
    mapping = load_mapping(MAPPING, "mapping.toml")
    assert mapping.for_file("inbox/orders-2024.csv.gz") == FileMapping(
        "personalize", "GBP", {"ITEM_ID": "SKU", "PRICE": "Unit Price"}
    )
    assert mapping.for_file("list.csv") == FileMapping(columns={"EMAIL": "Mail"})
    assert mapping.for_file("list.txt") is None and ColumnMapping().for_file("a.csv") is None


def test_a_mapping_renames_the_file_columns_to_ours_and_its_currency_applies():
    mapping = load_mapping(MAPPING, "mapping.toml").for_file("orders-1.csv")
    tables = read_input(b"sku,Name,Unit Price\ni1,Mug,5\ni2,Cup,five\n", "orders-1.csv", mapping=mapping)
    assert tables.products[["product_id", "product_name", "discounted_price", "currency"]].values.tolist() == [
        ["i1", "Mug", 5.0, "GBP"]
    ]
    # the quarantine names the file's column, on the file's line
    assert tables.rejected[["source_line", "column", "reason"]].values.tolist() == [
        [3, "Unit Price", "PRICE is not a number"]
    ]


def test_the_mapping_format_is_used_instead_of_detection():
    mapping = FileMapping(format="personalize")
    assert read_input(b"USER_ID,EMAIL\nu1,ann@shop.example\n", "u.csv", mapping=mapping).format == "personalize"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[files."*.csv"]\nformat = "kaggle"\ncolumns = { product_id = \n', "not valid TOML: .*line 3"),
        ('[file."*.csv"]\nformat = "kaggle"\n', "unknown key 'file'"),
        ('[files."*.csv"]\nformats = "kaggle"\n', r'files."\*.csv": unknown key \'formats\''),
        ('[files."*.csv"]\nformat = "xlsx"\n', r'files."\*.csv".format: unknown format \'xlsx\''),
        ('[files."*.csv"]\nformat = "kaggle"\ncolumns = { SKU = "x" }\n', r"columns.SKU: not a kaggle column"),
        ('[files."*.csv"]\ncolumns = { SKU = "x" }\n', r"columns.SKU: not a column of any format"),
        ('[files."*.csv"]\ncolumns = { EMAIL = "x", USER_ID = "x" }\n', r"the file's column 'x' is given for two"),
        ('[files."*.csv"]\ncolumns = { EMAIL = 3 }\n', r"columns.EMAIL: must be the file's column name"),
        ('[files."*.csv"]\ncurrency = "pounds"\n', r"currency: 'pounds' is not a 3-letter currency code"),
    ],
)
def test_a_bad_mapping_file_is_an_error_naming_the_file_and_the_key(text, message):
    with pytest.raises(MappingError, match=rf"^mapping.toml: .*{message}"):
        load_mapping(text, "mapping.toml")


def test_the_worked_example_of_docs_own_data_is_a_valid_mapping():
    page = (Path(__file__).parents[1] / "docs" / "own-data.md").read_text()
    [example] = re.findall(r"```toml\n(.*?)```", page, re.DOTALL)
    mapping = load_mapping(example, "own-data.md")
    assert mapping.for_file("orders-2024-01.csv.gz").columns["CustomerID"] == "Customer ID"
    assert mapping.for_file("customers.csv").format == "personalize"


def test_amazon_csv_gzip_compressed_through_read_input_equals_read_kaggle():
    data = Path(shared_file("amazon-sales", "amazon.csv")).read_bytes()
    assert_same_tables(read_input(gzip.compress(data, 1), "amazon.csv.gz"), read_kaggle(data, "amazon.csv.gz"))


def test_a_list_with_a_reason_column_is_a_suppression_list_whatever_else_it_holds():
    data = b"USER_ID,EMAIL,REASON,DATE\nu1,Ann@Shop.com,bounced,2026-01-01\n"
    tables = read_input(data, "bounces.csv")
    assert tables.format == "suppression" and tables.customers.empty
    assert tables.suppressions[["email", "user_id", "reason"]].values.tolist() == [["ann@shop.com", "u1", "bounced"]]


def test_a_customer_repeated_in_a_users_file_keeps_each_fields_latest_value_and_an_unsubscribe():
    data = b"USER_ID,NAME,EMAIL,CONSENT\nu1,Ann,ann@shop.com,unsubscribed\nu1,Anne,,\n"
    customers = read_input(data, "users.csv").customers
    assert customers[["user_id", "user_name", "email", "consent"]].values.tolist() == [
        ["u1", "Anne", "ann@shop.com", "unsubscribed"]
    ]
