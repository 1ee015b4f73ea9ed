"""Ingest over every format: the per-file tables combined (a later file wins), the users table, the settings that
choose a format and a column mapping, and whole runs on an order-lines export and on Personalize CSVs."""

import email
import gzip
import os
from email.policy import default

import numpy as np
import pandas as pd
import pytest

from recsys_assets.catalog.combined import combine_events, combine_products
from recsys_assets.catalog.tables import build_users
from recsys_assets.cli import main
from recsys_assets.cli import run as runner
from recsys_assets.cli.run import PipelineError, inbox_files, run_pipeline
from recsys_assets.environment import RunOptions, SettingsError
from recsys_assets.formats.kaggle import read_kaggle
from recsys_assets.formats.mapping import load_mapping
from recsys_assets.formats.reading import read_input
from recsys_assets.formats.tables import CUSTOMER_COLUMNS, EVENT_COLUMNS, empty_table
from recsys_assets.resources.object_store import LocalObjectStore
from recsys_assets.sample.customers import users_for_input
from recsys_assets.sample.formats import csv_bytes
from recsys_assets.sample.generator import generate_catalog, write_catalog

from .test_pipeline import table


def customers(*rows: dict) -> pd.DataFrame:
    """Customers (formats.tables.CUSTOMER_COLUMNS, "" where a row does not say)."""
    frame = pd.DataFrame([{c: "" for c in CUSTOMER_COLUMNS} | {"age": pd.NA} | row for row in rows])
    return frame.astype({c: "string" for c in CUSTOMER_COLUMNS if c != "age"} | {"age": "Int64"})


def events(*rows: dict) -> pd.DataFrame:
    """Purchases (formats.tables.EVENT_COLUMNS) of {user_id, product_id[, timestamp, order_id]}, one line each."""
    defaults = {"timestamp": 1_700_000_000, "event_type": "purchase", "event_value": np.nan, "quantity": 1.0}
    defaults |= {"revenue": 1.0, "order_id": "", "source_file": "orders.csv"}
    frame = pd.DataFrame([defaults | row | {"source_line": i + 2} for i, row in enumerate(rows)])
    return frame[list(EVENT_COLUMNS)].astype(empty_table(EVENT_COLUMNS).dtypes.to_dict())


PRODUCTS = pd.DataFrame({"product_id": ["p1", "p2", "p3"], "top_category": ["Home", "Toys", ""]})
NO_REVIEWS = pd.DataFrame({"user_id": pd.Series(dtype="string"), "product_id": pd.Series(dtype="string")})


def test_each_contact_field_of_a_user_comes_from_the_latest_file_that_gives_one():
    older = customers({"user_id": "u1", "user_name": "Ann", "email": "ann@old.example", "consent": "opted_in"})
    newer = customers({"user_id": "u1", "email": "ann@new.example", "country": "United Kingdom", "age": 41})
    users = build_users(NO_REVIEWS, events({"user_id": "u1", "product_id": "p1"}), pd.concat([older, newer]), PRODUCTS)
    assert users.drop(columns=["interaction_count", "favourite_category"]).to_dict("records") == [
        {
            "user_id": "u1",
            "user_name": "Ann",
            "email": "ann@new.example",
            "consent": "opted_in",
            "country": "United Kingdom",
            "locale": "",
            "age": 41,
        }
    ]


def test_a_user_is_a_customer_with_an_interaction_counted_once_per_product_and_anonymous_events_are_no_ones():
    bought = events(
        {"user_id": "u1", "product_id": "p1"},
        {"user_id": "u1", "product_id": "p1", "order_id": "again"},
        {"user_id": "u1", "product_id": "p3"},
        {"user_id": "", "product_id": "p2"},
    )
    reviews = pd.DataFrame({"user_id": ["u1", "u2"], "product_id": ["p2", "p2"]}, dtype="string")
    known = customers({"user_id": "u1"}, {"user_id": "u2"}, {"user_id": "u3", "email": "never@bought.example"})
    users = build_users(reviews, bought, known, PRODUCTS)
    assert users[["user_id", "interaction_count", "favourite_category"]].values.tolist() == [
        ["u1", 3, "Home"],  # p1 (twice), p2 reviewed, p3: three products; Home wins the tie with Toys by name
        ["u2", 1, "Toys"],
    ]
    assert "age" not in users.columns  # no file gives an age


def test_a_later_files_product_wins_and_an_event_in_two_files_is_the_later_files():
    first = PRODUCTS.assign(product_name=["old", "kept", "only here"])
    second = PRODUCTS.iloc[:1].assign(product_name=["new"])
    assert combine_products([first, second])["product_name"].tolist() == ["new", "kept", "only here"]
    january = events({"user_id": "u1", "product_id": "p1", "order_id": "o1"}, {"user_id": "u1", "product_id": "p2"})
    export = events({"user_id": "u1", "product_id": "p1", "order_id": "o1"}).assign(source_file="export.csv")
    combined = combine_events([january, export])
    assert combined[["product_id", "source_file"]].values.tolist() == [["p2", "orders.csv"], ["p1", "export.csv"]]


def test_an_inbox_takes_gzip_compressed_csv_files(tmp_path):
    store, inbox = LocalObjectStore(root=str(tmp_path / "home")), tmp_path / "inbox"
    inbox.mkdir()
    for name in ("orders.csv.gz", "notes.txt.gz", "items.csv"):
        (inbox / name).write_bytes(b"x")
    assert sorted(inbox_files(store, str(inbox))[1]) == ["items.csv", "orders.csv.gz"]


def test_the_format_and_mapping_come_from_the_environment_unless_flags_say_otherwise(tmp_path, monkeypatch, capsys):
    chosen = []

    def record_options(options, segment=None, verbose=False):
        chosen.append((options.input_format, options.column_mapping))
        raise PipelineError("recorded")

    monkeypatch.setattr(runner, "run_pipeline", record_options)
    monkeypatch.setenv("RECSYS_INPUT_FORMAT", "Order-Lines")
    monkeypatch.setenv("RECSYS_COLUMN_MAP", "shop.toml")
    assert main(["run"]) == 2
    assert main(["run", "--format", "personalize", "--mapping", "other.toml"]) == 2
    monkeypatch.delenv("RECSYS_INPUT_FORMAT")
    monkeypatch.delenv("RECSYS_COLUMN_MAP")
    assert main(["run"]) == 2
    assert chosen == [("order-lines", "shop.toml"), ("personalize", "other.toml"), ("auto", "")]
    assert main(["run", "--format", "xlsx"]) == 2
    assert "input_format (RECSYS_INPUT_FORMAT, --format) is 'xlsx': expected auto, kaggle, " in capsys.readouterr().err
    with pytest.raises(SettingsError):
        RunOptions(input_format="excel")


def order_lines(customers: int = 40, products: int = 30, per_customer: int = 6, seed: int = 2) -> pd.DataFrame:
    """Invoice lines in Online Retail II's column names (Invoice, Price, Customer ID): each customer buys
    `per_customer` products on their own invoices; a few anonymous lines, a cancellation and a postage line."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        for k, item in enumerate(rng.choice(products, size=per_customer, replace=False)):
            day = 1 + (c + k) % 28
            rows.append((f"5{c:03d}{k}", f"8{item:04d}", f"HEART HOLDER {item}", 2, f"2011-02-{day:02d} 10:00"))
            rows[-1] += (f"{1 + item / 10:.2f}", f"{12000 + c}", "United Kingdom")
    rows += [("600001", "80000", "HEART HOLDER 0", 1, "2011-03-01 09:00", "1.00", "", "United Kingdom")] * 3
    first = rows[0]
    rows.append(("C" + first[0], first[1], first[2], -1, "2011-03-02 09:00", first[5], first[6], first[7]))
    rows.append(("600002", "POST", "POSTAGE", 1, "2011-03-02 09:00", "18.00", "12000", "United Kingdom"))
    header = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
    return pd.DataFrame(rows, columns=header)


MAPPING = """\
[files."*.csv.gz"]
format = "order-lines"

[files."*.csv.gz".columns]
InvoiceNo = "Invoice"
UnitPrice = "Price"
CustomerID = "Customer ID"
"""


def test_a_gzipped_order_lines_export_with_its_own_column_names_gets_picks_for_every_buyer_priced_in_pounds(
    tmp_path,
):
    lines = order_lines()
    inbox, mapping = tmp_path / "inbox", tmp_path / "shop.toml"
    inbox.mkdir()
    export = inbox / "online_retail_II.csv.gz"
    export.write_bytes(gzip.compress(lines.to_csv(index=False).encode()))
    mapping.write_text(MAPPING)
    tables = [
        read_input(export.read_bytes(), export.name, mapping=load_mapping(MAPPING, "shop.toml").for_file(export.name))
    ]
    (inbox / "users.csv").write_bytes(csv_bytes(users_for_input(tables, unsubscribed_share=0.0), compress=False))
    home = tmp_path / "home"
    summary = run_pipeline(RunOptions(home=str(home), input_location=str(inbox), column_mapping=str(mapping)))
    buyers = set(lines.loc[lines["Customer ID"] != "", "Customer ID"])
    assert set(table(home, "users")["user_id"]) == buyers
    recommendations = table(home, "recommendations")
    assert recommendations.groupby("USER_ID").size().eq(5).all() and set(recommendations["USER_ID"]) == buyers
    assert "POST" not in set(table(home, "products")["product_id"]) | set(recommendations["ITEM_ID"])
    assert summary["quarantine_reasons"] == {"stock code POST is postage, not a product": 1}
    assert table(home, "products")["currency"].eq("GBP").all()
    message = email.message_from_bytes(next((home / "emails").glob("*/*.eml")).read_bytes(), policy=default)
    html = message.get_body(("html",)).get_content()
    assert "£" in html and "₹" not in html


def personalize_csvs(kaggle_export: bytes, folder) -> None:
    """The export's products, customers and reviews as Personalize's items, users and reviews CSVs (oldest first)."""
    tables = read_kaggle(kaggle_export, "catalog.csv")
    products, reviews = tables.products, tables.reviews
    items = pd.DataFrame(
        {
            "ITEM_ID": products["product_id"],
            "NAME": products["product_name"],
            "DESCRIPTION": products["about_product"],
            "CATEGORY": products["category_path"],
            "BRAND": products["brand"],
            "PRICE": products["discounted_price"],
            "LIST_PRICE": products["actual_price"],
            "CURRENCY": products["currency"],
            "IMAGE_URL": products["img_link"],
            "PRODUCT_URL": products["product_link"],
            "RATING": products["rating"],
            "RATING_COUNT": products["rating_count"],
        }
    )
    users = tables.customers[["user_id", "user_name", "age"]].set_axis(["USER_ID", "NAME", "AGE"], axis=1)
    review_rows = pd.DataFrame(
        {
            "USER_ID": reviews["user_id"],
            "ITEM_ID": reviews["product_id"],
            "TIMESTAMP": reviews["timestamp"],
            "TITLE": reviews["review_title"],
            "TEXT": reviews["review_content"],
            "REVIEW_ID": reviews["review_id"],
        }
    )
    for age, (name, frame) in enumerate({"items": items, "users": users, "reviews": review_rows}.items()):
        frame.to_csv(folder / f"{name}.csv", index=False)
        os.utime(folder / f"{name}.csv", (1_000 + age, 1_000 + age))


def test_the_same_catalog_as_a_kaggle_export_and_as_personalize_csvs_gets_the_same_recommendations(tmp_path):
    kaggle, personalize = tmp_path / "kaggle", tmp_path / "personalize"
    for folder in (kaggle, personalize):
        folder.mkdir()
    write_catalog(generate_catalog(n_products=30, n_users=60, n_reviews=300, seed=11), kaggle / "catalog.csv")
    personalize_csvs((kaggle / "catalog.csv").read_bytes(), personalize)
    homes = {name: tmp_path / f"home_{name}" for name in ("kaggle", "personalize")}
    for name, inbox in (("kaggle", kaggle), ("personalize", personalize)):
        run_pipeline(RunOptions(home=str(homes[name]), input_location=str(inbox), num_results=4))
    assert (homes["kaggle"] / "recommendations.csv").read_bytes() == (
        homes["personalize"] / "recommendations.csv"
    ).read_bytes()
    for name in ("users", "interactions", "customer_segments"):
        pd.testing.assert_frame_equal(table(homes["kaggle"], name), table(homes["personalize"], name))
