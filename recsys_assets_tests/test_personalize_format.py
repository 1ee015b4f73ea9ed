"""The Personalize import files: exactly the schemas' columns, in order."""

import json

import pandas as pd

from recsys_assets.aws_formats.personalize_api import avro_schema
from recsys_assets.aws_formats.personalize_datasets import MAX_DESCRIPTION_CHARS, dataset_key, personalize_datasets

INTERACTIONS = pd.DataFrame(
    {
        "USER_ID": ["u1"],
        "ITEM_ID": ["p1"],
        "TIMESTAMP": [1_700_000_000],
        "EVENT_TYPE": ["review"],
        "EVENT_VALUE": [0.8],
        "extra": [1],
    }
)
PRODUCTS = pd.DataFrame(
    {
        "product_id": ["p1", "p2", "p3"],
        "product_name": ["Cable ", "Charger", ""],
        "category_path": ["Electronics|Cables", None, "Home"],
        "category_depth": [2, 0, 1],
        "top_category": ["Electronics", "", "Home"],
        "brand": ["acme", "", ""],
        "discounted_price": [399.0, None, 20.0],
        "about_product": ["Braided,\n  1.5 m", "", "x" * (MAX_DESCRIPTION_CHARS + 10)],
        "rating": [4.1, 3.9, 4.5],
    }
)


def test_datasets_have_exactly_the_personalize_schema_columns_and_no_contact_data():
    users = pd.DataFrame(
        {
            "user_id": ["u1"],
            "user_name": ["Ann"],
            "email": ["ann@example.com"],
            "consent": ["opted_in"],
            "country": [""],
            "interaction_count": [1],
            "favourite_category": ["Electronics"],
        }
    )
    datasets = personalize_datasets(INTERACTIONS, PRODUCTS, users)
    assert {name: list(frame.columns) for name, frame in datasets.items()} == {
        "interactions": ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"],
        "items": ["ITEM_ID", "CATEGORY_L1", "CATEGORY_L2", "BRAND", "PRICE", "DESCRIPTION"],
        "users": ["USER_ID"],
    }
    assert dataset_key("items") == "personalize/items.csv"
    for dataset in ("items", "users"):
        schema = json.loads(avro_schema(dataset, datasets[dataset].columns))
        assert [field["name"] for field in schema["fields"]] == list(datasets[dataset].columns)


def test_items_have_one_category_level_per_column_and_no_brand_or_price_column_when_no_product_has_one():
    items = personalize_datasets(INTERACTIONS, PRODUCTS, pd.DataFrame({"user_id": ["u1"]}))["items"]
    assert items[["CATEGORY_L1", "CATEGORY_L2"]].values.tolist() == [["Electronics", "Cables"], ["", ""], ["Home", ""]]
    assert items["PRICE"].tolist()[::2] == [399.0, 20.0] and pd.isna(items["PRICE"].iloc[1])
    unbranded = PRODUCTS.assign(brand="", discounted_price=float("nan"), category_path="", category_depth=0)
    items = personalize_datasets(INTERACTIONS, unbranded, pd.DataFrame({"user_id": ["u1"]}))["items"]
    assert list(items.columns) == ["ITEM_ID", "DESCRIPTION"]


def test_users_carry_the_country_when_a_file_gives_one():
    users = pd.DataFrame({"user_id": ["u1", "u2"], "country": ["United Kingdom", ""], "email": ["a@b.example", ""]})
    frame = personalize_datasets(INTERACTIONS, PRODUCTS, users)["users"]
    assert frame.values.tolist() == [["u1", "United Kingdom"], ["u2", ""]]


def test_users_carry_age_when_the_export_had_it():
    users = pd.DataFrame(
        {"user_id": ["u1", "u2"], "user_name": ["Ann", "Bo"], "age": pd.array([34, None], dtype="Int64")}
    )
    frame = personalize_datasets(INTERACTIONS, PRODUCTS, users)["users"]
    assert list(frame.columns) == ["USER_ID", "AGE"]
    assert frame["AGE"].tolist() == [34, pd.NA]


def test_item_description_joins_name_and_about_text_and_fits_the_textual_limit():
    items = personalize_datasets(INTERACTIONS, PRODUCTS, pd.DataFrame({"user_id": ["u1"]}))["items"]
    assert items["DESCRIPTION"].tolist()[:2] == ["Cable. Braided, 1.5 m", "Charger"]
    assert len(items["DESCRIPTION"].iloc[2]) == MAX_DESCRIPTION_CHARS
