"""The drawn sample (`generator.draw_sample`) written in each input format: the same customers, products, tastes
and reviews in all of them (docs/samples.md)."""

from __future__ import annotations

import csv
import gzip
import io
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_assets.curation.rules import brands
from recsys_assets.files import write_atomic
from recsys_assets.sample.customers import DEMO_DOMAIN, UNSUBSCRIBED_SHARE, customer_profiles
from recsys_assets.sample.generator import SampleDraw, _draw_in_taste_or_not, write_catalog

KAGGLE, PERSONALIZE, ORDER_LINES = "kaggle", "personalize", "order-lines"
SAMPLE_FORMATS = (KAGGLE, PERSONALIZE, ORDER_LINES)
ORDER_LINE_COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
KAGGLE_CURRENCY, ORDER_LINES_CURRENCY = "INR", "GBP"
# The order lines' prices in pounds: the rupee price / 100 (1,099 -> 10.99).
RUPEES_PER_POUND = 100
FIRST_INVOICE = 536_365  # Online Retail's first invoice number
DAY = 86_400
# A customer buys a reviewed product 1-30 days before reviewing it; a purchase starts a new order with this chance.
NEW_ORDER_CHANCE = 0.5
CANCELLED_SHARE = 0.02  # of the customers' lines, cancelled (an invoice "C...", negative quantity) days later
POSTAGE = ("POST", "POSTAGE", 18.0)  # a line that is no product, on this share of the orders
POSTAGE_SHARE = 0.05
ANONYMOUS_SHARE = 0.1  # lines without a customer, as many as this share of the customers' lines
COUNTRY_OF_ANONYMOUS = "India"  # the shop's own country
VIEWS_PER_REVIEW = 1.0  # views of products in the customer's taste, besides a view before each purchase


def sample_streams(seed: int) -> list[np.random.Generator]:
    """Random streams for the formats' own draws, apart from the catalog's, so every format keeps its catalog."""
    return [np.random.default_rng([seed, stream]) for stream in (1, 2)]


def purchases(draw: SampleDraw, seed: int) -> pd.DataFrame:
    """One purchase per review, 1-30 days before it: user_id, product_id, timestamp, quantity, unit_price (the
    rupee price) and order (a number; a customer's consecutive purchases share one order at random)."""
    rng = sample_streams(seed)[0]
    reviews = draw.reviews
    timestamp = reviews["timestamp"].to_numpy() - rng.integers(DAY, 30 * DAY, size=len(reviews))
    table = pd.DataFrame(
        {
            "user": reviews["user"].to_numpy(),
            "user_id": draw.user_ids[reviews["user"].to_numpy()],
            "product_id": draw.product_ids[reviews["product"].to_numpy()],
            "timestamp": timestamp,
            "quantity": rng.integers(1, 7, size=len(reviews)),
            "unit_price": rupees(draw.catalog["discounted_price"]).to_numpy()[reviews["product"].to_numpy()],
        }
    )
    by_user = table.sort_values(["user", "timestamp"], kind="stable")
    starts = (by_user["user"].diff() != 0) | (rng.random(len(by_user)) < NEW_ORDER_CHANCE)
    table["order"] = pd.Series(np.cumsum(starts.to_numpy()), index=by_user.index)
    # every line of an order at its first purchase's time; orders numbered in time order
    table["timestamp"] = table.groupby("order")["timestamp"].transform("min")
    table = table.sort_values(["timestamp", "order", "product_id"], kind="stable", ignore_index=True)
    table["order"] = pd.factorize(table["order"])[0]
    return table.drop(columns="user")


def rupees(prices: pd.Series) -> pd.Series:
    """'₹1,099' -> 1099.0."""
    return prices.str.replace(r"[₹,]", "", regex=True).astype("float64")


def personalize_files(
    draw: SampleDraw, seed: int, unsubscribed_share: float = UNSUBSCRIBED_SHARE, domain: str = DEMO_DOMAIN
) -> dict[str, pd.DataFrame]:
    """Amazon Personalize's dataset CSVs (items, users, interactions, reviews) of the sample, by file name."""
    catalog = draw.catalog
    items = pd.DataFrame(
        {
            "ITEM_ID": catalog["product_id"],
            "NAME": catalog["product_name"],
            "DESCRIPTION": catalog["about_product"],
            "CATEGORY": catalog["category"],
            "BRAND": brands(catalog["product_name"]),
            "PRICE": rupees(catalog["discounted_price"]).astype("int64"),
            "LIST_PRICE": rupees(catalog["actual_price"]).astype("int64"),
            "CURRENCY": KAGGLE_CURRENCY,
            "IMAGE_URL": catalog["img_link"],
            "PRODUCT_URL": catalog["product_link"],
            "RATING": catalog["rating"],
            "RATING_COUNT": catalog["rating_count"].str.replace(",", "").astype("int64"),
        }
    )
    reviews = draw.reviews
    reviews_file = pd.DataFrame(
        {
            "USER_ID": draw.user_ids[reviews["user"].to_numpy()],
            "ITEM_ID": draw.product_ids[reviews["product"].to_numpy()],
            "TIMESTAMP": reviews["timestamp"],
            "RATING": reviews["stars"],
            "TITLE": reviews["review_title"],
            "TEXT": reviews["review_content"],
            "REVIEW_ID": reviews["review_id"],
        }
    ).sort_values(["TIMESTAMP", "USER_ID"], kind="stable", ignore_index=True)
    return {
        "items.csv": items,
        "users.csv": sample_customers(draw, seed, unsubscribed_share, domain),
        "interactions.csv": _interactions(draw, seed),
        "reviews.csv": reviews_file,
    }


def sample_customers(
    draw: SampleDraw, seed: int, unsubscribed_share: float = UNSUBSCRIBED_SHARE, domain: str = DEMO_DOMAIN
) -> pd.DataFrame:
    """The sample's customers in Personalize's users format: their reviewer names, demo addresses and consent."""
    return customer_profiles(
        pd.Series(draw.user_ids),
        pd.Series(draw.user_names),
        seed=seed,
        unsubscribed_share=unsubscribed_share,
        domain=domain,
    )


def _interactions(draw: SampleDraw, seed: int) -> pd.DataFrame:
    """Purchases (with quantity, price and order id), a view minutes before each, and views of other products in
    the customer's taste, sorted by time."""
    bought = purchases(draw, seed)
    rng = sample_streams(seed)[1]
    viewer = rng.choice(len(draw.user_ids), size=int(len(draw.reviews) * VIEWS_PER_REVIEW))
    taste = draw.tastes
    viewed = _draw_in_taste_or_not(
        rng, viewer, draw.products, taste.favourite_top, taste.second_top, taste.favourite_sub
    )
    low, high = int(draw.reviews["timestamp"].min()), int(draw.reviews["timestamp"].max())
    views = pd.DataFrame(
        {
            "USER_ID": np.r_[bought["user_id"].to_numpy(), draw.user_ids[viewer]],
            "ITEM_ID": np.r_[bought["product_id"].to_numpy(), draw.product_ids[viewed]],
            "TIMESTAMP": np.r_[
                bought["timestamp"].to_numpy() - rng.integers(60, 3600, size=len(bought)),
                rng.integers(low, high, size=len(viewer)),
            ],
            "EVENT_TYPE": "view",
        }
    )
    orders = pd.DataFrame(
        {
            "USER_ID": bought["user_id"],
            "ITEM_ID": bought["product_id"],
            "TIMESTAMP": bought["timestamp"],
            "EVENT_TYPE": "purchase",
            "QUANTITY": bought["quantity"],
            "PRICE": bought["unit_price"].astype("int64"),
            "ORDER_ID": "O" + (FIRST_INVOICE + bought["order"]).astype(str),
        }
    )
    table = pd.concat([orders, views], ignore_index=True)
    return table.sort_values(["TIMESTAMP", "USER_ID", "ITEM_ID"], kind="stable", ignore_index=True).astype(
        {"QUANTITY": "Int64", "PRICE": "Int64"}
    )


def order_lines(draw: SampleDraw, seed: int) -> pd.DataFrame:
    """The sample's purchases as an invoice-lines export like UCI Online Retail (ORDER_LINE_COLUMNS, prices in
    pounds): each customer's orders, a few lines cancelled later (invoice "C...", negative quantity), a postage line
    (POST) on a few orders and lines without a customer (sold to no known customer)."""
    rng = sample_streams(seed)[1]
    bought = purchases(draw, seed)
    country = sample_customers(draw, seed).set_index("USER_ID")["COUNTRY"]
    names = draw.catalog.set_index("product_id")["product_name"]
    n_orders = int(bought["order"].max()) + 1 if len(bought) else 0
    cancelled = bought[rng.random(len(bought)) < CANCELLED_SHARE].assign(
        timestamp=lambda lines: lines["timestamp"] + rng.integers(DAY, 5 * DAY, size=len(lines)),
        quantity=lambda lines: -lines["quantity"],
        order=lambda lines: n_orders + np.arange(len(lines)),
    )
    first_lines = bought.drop_duplicates("order")
    postage = first_lines[rng.random(len(first_lines)) < POSTAGE_SHARE].assign(
        product_id=POSTAGE[0], quantity=1, unit_price=POSTAGE[2] * RUPEES_PER_POUND
    )
    n_anonymous = int(len(bought) * ANONYMOUS_SHARE)
    n_anonymous_orders = max(n_anonymous // 3, 1)
    anonymous_order = rng.integers(0, n_anonymous_orders, size=n_anonymous)
    weight = np.diff(draw.products.cumulative_popularity, prepend=0.0)
    sold = rng.choice(len(weight), size=n_anonymous, p=weight / weight.sum())
    anonymous = pd.DataFrame(
        {
            "user_id": "",
            "product_id": draw.product_ids[sold],
            "timestamp": rng.choice(bought["timestamp"].to_numpy(), size=n_anonymous_orders)[anonymous_order],
            "quantity": rng.integers(1, 13, size=n_anonymous),
            "unit_price": rupees(draw.catalog["discounted_price"]).to_numpy()[sold],
            "order": n_orders + len(cancelled) + anonymous_order,
        }
    )
    lines = pd.concat([bought, postage, cancelled, anonymous], ignore_index=True)
    lines = lines.sort_values(["timestamp", "order", "product_id"], kind="stable", ignore_index=True)
    number = (FIRST_INVOICE + pd.factorize(lines["order"])[0]).astype(str)
    invoice = np.where(lines["quantity"] < 0, "C", "") + number
    return pd.DataFrame(
        {
            "InvoiceNo": invoice,
            "StockCode": lines["product_id"],
            "Description": lines["product_id"].map(names).fillna(POSTAGE[1]),
            "Quantity": lines["quantity"].astype("int64"),
            "InvoiceDate": pd.to_datetime(lines["timestamp"], unit="s").dt.strftime("%Y-%m-%d %H:%M"),
            "UnitPrice": (lines["unit_price"] / RUPEES_PER_POUND).round(2).map("{:.2f}".format),
            "CustomerID": lines["user_id"],
            "Country": lines["user_id"].map(country).fillna(COUNTRY_OF_ANONYMOUS),
        }
    )


def csv_bytes(table: pd.DataFrame, compress: bool) -> bytes:
    """The table as UTF-8 CSV with '\\n' endings (gzip-compressed without a time stamp, so a seed gives one file)."""
    text = io.StringIO()
    table.to_csv(text, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    data = text.getvalue().encode("utf-8")
    return gzip.compress(data, mtime=0) if compress else data


def write_sample(
    draw: SampleDraw,
    sample_format: str,
    out: str | PathLike,
    seed: int,
    unsubscribed_share: float = UNSUBSCRIBED_SHARE,
    domain: str = DEMO_DOMAIN,
) -> list[Path]:
    """Write the sample in `sample_format` to `out`: a folder of CSVs for personalize, else one CSV (gzip-compressed
    when `out` ends in .gz). The files written."""
    out = Path(out)
    if sample_format == PERSONALIZE:
        files = personalize_files(draw, seed, unsubscribed_share, domain)
        for name, table in files.items():
            write_atomic(out / name, csv_bytes(table, compress=False))
        return [out / name for name in files]
    if sample_format == KAGGLE:
        text = io.StringIO()
        write_catalog(draw.catalog, text)
        data = text.getvalue().encode("utf-8")
        write_atomic(out, gzip.compress(data, mtime=0) if out.suffix == ".gz" else data)
        return [out]
    if sample_format == ORDER_LINES:
        write_atomic(out, csv_bytes(order_lines(draw, seed), compress=out.suffix == ".gz"))
        return [out]
    raise ValueError(f"unknown sample format {sample_format!r}: expected one of {', '.join(SAMPLE_FORMATS)}")
