"""An order-lines export like UCI "Online Retail": one row per invoice line, read into purchase and cancellation
events, products and customers; lines that are not a product's sale are quarantined (docs/own-data.md)."""

from __future__ import annotations

import pandas as pd

from recsys_assets.catalog.fields import MAX_ID_CHARS, MAX_NUMBER, TIMESTAMP_RANGE
from recsys_assets.catalog.reading import (
    CONTROL_CHARACTERS,
    SOURCE_COLUMNS,
    concat_rejected,
    first_faults,
    read_csv_rows,
)
from recsys_assets.formats.tables import (
    CUSTOMER_COLUMNS,
    DEFAULT_OPTIONS,
    EVENT_COLUMNS,
    PRODUCT_COLUMNS,
    FileTables,
    ReadOptions,
    empty_table,
)

FORMAT = "order-lines"
# Online Retail's prices are in pounds sterling.
CURRENCY = "GBP"
REQUIRED_COLUMNS = ("InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice")
OPTIONAL_COLUMNS = ("Description", "CustomerID", "Country")
PURCHASE = "purchase"
CANCELLATION = "cancellation"
# Stock codes (upper case) of lines that sell no product, and what they are: found in Online Retail among the codes
# without digits and by their descriptions (docs/own-data.md, "Order lines").
NOT_PRODUCTS = {
    "POST": "postage",
    "DOT": "postage",
    "C2": "carriage",
    "M": "a manual entry",
    "D": "a discount",
    "S": "samples",
    "B": "a bad-debt adjustment",
    "BANK CHARGES": "bank charges",
    "AMAZONFEE": "a marketplace fee",
    "CRUK": "a charity commission",
    "PADS": "cushion pads sold with cushions",
}
GIFT_VOUCHER_PREFIX = "GIFT_"
# InvoiceDate as the export writes it; parsed as UTC.
DATE_FORMAT = "%Y-%m-%d %H:%M"


def read_order_lines(data: bytes, source: str, options: ReadOptions = DEFAULT_OPTIONS) -> FileTables:
    """Purchase and cancellation events, products (latest name and sale price) and customers (latest country) of
    one export; malformed rows and lines that are no product's sale quarantined with line, column and reason."""
    read = read_csv_rows(data, source, REQUIRED_COLUMNS, options.fallback_encoding, options.limits)
    rows = read.rows.reindex(columns=[*SOURCE_COLUMNS, *REQUIRED_COLUMNS, *OPTIONAL_COLUMNS], fill_value="")
    rows = rows.fillna("").astype({c: "string" for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)})
    lines = parsed_lines(rows)
    rejected, records = first_faults(rows, line_faults(lines, options.limits.max_field_chars))
    lines = lines[~rejected]
    return FileTables(
        FORMAT,
        products=products_of(lines, options.currency or CURRENCY),
        customers=customers_of(lines),
        events=events_of(lines),
        rejected=concat_rejected([read.rejected, *records]).sort_values(
            "source_line", kind="stable", ignore_index=True
        ),
        fallback_lines=read.fallback_lines,
    )


def parsed_lines(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with stripped text, numbers (NaN where not one), UTC epoch seconds (NA where not a date) and
    the customer number as text without a trailing ".0"."""
    text = {c: rows[c].str.strip() for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
    when = pd.to_datetime(text["InvoiceDate"], format=DATE_FORMAT, errors="coerce", utc=True)
    return pd.DataFrame(
        {
            **{c: rows[c] for c in SOURCE_COLUMNS},
            **text,
            "CustomerID": text["CustomerID"].str.replace(r"\.0+$", "", regex=True),
            "quantity": pd.to_numeric(text["Quantity"], errors="coerce").astype("float64"),
            "price": pd.to_numeric(text["UnitPrice"], errors="coerce").astype("float64"),
            "timestamp": (when - pd.Timestamp(0, tz="UTC")).dt.total_seconds().astype("Int64"),
            "cancellation": text["InvoiceNo"].str.upper().str.startswith("C"),
        },
        index=rows.index,
    )


def not_a_product(codes: pd.Series) -> pd.Series:
    """What each stock code is when it sells no product (NOT_PRODUCTS, gift vouchers), else NA."""
    upper = codes.str.upper()
    what = upper.map(NOT_PRODUCTS).astype("string")
    return what.mask(upper.str.startswith(GIFT_VOUCHER_PREFIX), "a gift voucher")


def line_faults(lines: pd.DataFrame, max_field_chars: int) -> list[tuple[pd.Series, str, str]]:
    """(mask, column, reason) of every rule a line can break, in the order they are checked."""
    columns = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    faults = [(lines[c].str.contains(CONTROL_CHARACTERS, regex=True), c, "control character") for c in columns]
    faults += [
        (lines[c].str.len() > max_field_chars, c, f"longer than {max_field_chars:,} characters") for c in columns
    ]
    faults += [
        (lines["StockCode"] == "", "StockCode", "missing stock code"),
        (lines["InvoiceNo"] == "", "InvoiceNo", "missing invoice number"),
        (lines["StockCode"].str.len() > MAX_ID_CHARS, "StockCode", f"longer than {MAX_ID_CHARS} characters"),
        (lines["CustomerID"].str.len() > MAX_ID_CHARS, "CustomerID", f"longer than {MAX_ID_CHARS} characters"),
        (~lines["quantity"].abs().le(MAX_NUMBER), "Quantity", "Quantity is not a number"),
        (lines["quantity"].ne(lines["quantity"].round()), "Quantity", "Quantity is not a whole number"),
        (lines["quantity"] == 0, "Quantity", "Quantity is 0"),
        (~lines["price"].abs().le(MAX_NUMBER), "UnitPrice", "UnitPrice is not a number"),
        (
            ~lines["timestamp"].between(*TIMESTAMP_RANGE),
            "InvoiceDate",
            "InvoiceDate is not a date YYYY-MM-DD HH:MM from 1970 to 2106",
        ),
    ]
    codes = lines["StockCode"]
    kind = not_a_product(codes)
    named = dict(zip(codes[kind.notna()], kind[kind.notna()]))
    faults += [
        (codes == code, "StockCode", f"stock code {code} is {what}, not a product") for code, what in named.items()
    ]
    faults += [
        (lines["cancellation"] & (lines["quantity"] > 0), "Quantity", "a cancellation with a positive quantity"),
        (
            ~lines["cancellation"] & (lines["quantity"] < 0),
            "Quantity",
            "a negative quantity outside a cancellation (a stock adjustment)",
        ),
        (lines["price"] < 0, "UnitPrice", "UnitPrice is negative"),
        (
            (lines["price"] == 0) & (lines["CustomerID"] == ""),
            "UnitPrice",
            "price 0 and no customer (a stock adjustment)",
        ),
    ]
    return faults


def events_of(lines: pd.DataFrame) -> pd.DataFrame:
    """One event per line: a purchase, or a cancellation with its negative quantity and revenue."""
    events = pd.DataFrame(
        {
            "user_id": lines["CustomerID"],
            "product_id": lines["StockCode"],
            "timestamp": lines["timestamp"].astype("int64"),
            "event_type": lines["cancellation"].map({True: CANCELLATION, False: PURCHASE}).astype("string"),
            "event_value": float("nan"),
            "quantity": lines["quantity"],
            "revenue": (lines["quantity"] * lines["price"]).round(4),
            "order_id": lines["InvoiceNo"],
            "source_file": lines["source_file"],
            "source_line": lines["source_line"],
        }
    )
    return _typed(events, EVENT_COLUMNS)


def _latest(lines: pd.DataFrame, column: str) -> pd.Series:
    """`column` of each stock code's latest line (by InvoiceDate, then line) among `lines`."""
    ordered = lines.sort_values(["timestamp", "source_line"], kind="stable")
    return ordered.drop_duplicates("StockCode", keep="last").set_index("StockCode")[column]


def products_of(lines: pd.DataFrame, currency: str) -> pd.DataFrame:
    """One product per stock code: the latest non-empty description as its name, the latest sale's unit price
    (discounted and actual), no category, no brand."""
    codes = pd.Index(lines["StockCode"].drop_duplicates().sort_values(), name="product_id")
    names = _latest(lines[lines["Description"] != ""], "Description").reindex(codes).fillna("")
    sales = lines[~lines["cancellation"] & (lines["price"] > 0)]
    price = _latest(sales, "price").reindex(codes).astype("float64")
    products = pd.DataFrame(
        {
            "product_id": codes,
            "product_name": names.to_numpy(),
            "category_path": "",
            "top_category": "",
            "leaf_category": "",
            "category_depth": 0,
            "brand": "",
            "discounted_price": price.to_numpy(),
            "actual_price": price.to_numpy(),
            "discount_percentage": 0.0,
            "rating": float("nan"),
            "rating_count": pd.NA,
            "about_product": "",
            "img_link": "",
            "product_link": "",
            "currency": currency,
        }
    )
    return _typed(products, PRODUCT_COLUMNS)


def customers_of(lines: pd.DataFrame) -> pd.DataFrame:
    """One customer per customer number with its latest country; no name, address or consent in the export."""
    known = lines[lines["CustomerID"] != ""].sort_values(["timestamp", "source_line"], kind="stable")
    latest = known.drop_duplicates("CustomerID", keep="last").sort_values("CustomerID")
    customers = pd.DataFrame(
        {
            "user_id": latest["CustomerID"].to_numpy(),
            "user_name": "",
            "email": "",
            "consent": "",
            "country": latest["Country"].to_numpy(),
            "locale": "",
            "age": pd.NA,
        }
    )
    return _typed(customers, CUSTOMER_COLUMNS)


def _typed(table: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """`table`'s `columns`, in order and in the types of `tables.empty_table`."""
    return table[list(columns)].astype(empty_table(columns).dtypes.to_dict()).reset_index(drop=True)
