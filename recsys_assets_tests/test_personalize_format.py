"""The Personalize import files: exactly the schemas' columns, in order."""

import pandas as pd

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
        "top_category": ["Electronics", None, "Home"],
        "about_product": ["Braided,\n  1.5 m", "", "x" * (MAX_DESCRIPTION_CHARS + 10)],
        "rating": [4.1, 3.9, 4.5],
    }
)


def test_datasets_have_exactly_the_personalize_schema_columns():
    users = pd.DataFrame(
        {"user_id": ["u1"], "user_name": ["Ann"], "interaction_count": [1], "favourite_category": ["Electronics"]}
    )
    datasets = personalize_datasets(INTERACTIONS, PRODUCTS, users)
    assert {name: list(frame.columns) for name, frame in datasets.items()} == {
        "interactions": ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"],
        "items": ["ITEM_ID", "CATEGORY", "DESCRIPTION"],
        "users": ["USER_ID"],
    }
    assert dataset_key("items") == "personalize/items.csv"


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
    assert items["CATEGORY"].tolist() == ["Electronics", "", "Home"]
