"""Amazon Personalize import files: the interactions, items and users datasets as CSV-ready frames whose columns
and types match the datasets' Avro schemas (listed in docs/aws.md)."""

from __future__ import annotations

import pandas as pd

from recsys_assets.interactions import INTERACTION_COLUMNS

# where the import files live in the object store: personalize/interactions.csv, items.csv, users.csv
PERSONALIZE_PREFIX = "personalize/"
INTERACTIONS = "interactions"
ITEMS = "items"
USERS = "users"
# the users table's metadata that Personalize may have (no name, no address)
OPTIONAL_USER_COLUMNS = {"age": "AGE", "country": "COUNTRY"}
# Personalize's limit for a textual field
MAX_DESCRIPTION_CHARS = 20_000


def personalize_datasets(
    interactions: pd.DataFrame, products: pd.DataFrame, users: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """{"interactions", "items", "users"} -> frames whose columns are exactly the Personalize schemas' fields."""
    return {
        INTERACTIONS: personalize_interactions(interactions),
        ITEMS: personalize_items(products),
        USERS: personalize_users(users),
    }


def dataset_key(dataset: str) -> str:
    """Object-store key of a dataset's import file ('personalize/items.csv')."""
    return f"{PERSONALIZE_PREFIX}{dataset}.csv"


def personalize_interactions(interactions: pd.DataFrame) -> pd.DataFrame:
    """The interactions asset already has Personalize's columns; keep exactly those, in order."""
    return interactions[list(INTERACTION_COLUMNS)].reset_index(drop=True)


def personalize_items(products: pd.DataFrame) -> pd.DataFrame:
    """ITEM_ID; CATEGORY_L1 ... (one per level of the deepest category path), BRAND and PRICE (the price paid) where
    any product has one; DESCRIPTION (name and 'about' text, whitespace collapsed)."""
    name = products["product_name"].fillna("").astype("string").str.strip()
    about = products["about_product"].fillna("").astype("string").str.strip()
    description = (
        (name + ". " + about).where((name != "") & (about != ""), name + about).str.replace(r"\s+", " ", regex=True)
    )
    levels = products["category_path"].fillna("").astype("string").str.split("|", expand=True)
    levels = levels.reindex(columns=range(int(products["category_depth"].to_numpy().max(initial=0)))).fillna("")
    brand = products["brand"].fillna("").astype("string")
    return pd.DataFrame(
        {
            "ITEM_ID": products["product_id"].astype("string"),
            **{f"CATEGORY_L{level + 1}": levels[level].str.strip().astype("string") for level in levels.columns},
            **({"BRAND": brand} if (brand != "").any() else {}),
            **({"PRICE": products["discounted_price"]} if products["discounted_price"].notna().any() else {}),
            "DESCRIPTION": description.str.slice(0, MAX_DESCRIPTION_CHARS),
        }
    ).reset_index(drop=True)


def personalize_users(users: pd.DataFrame) -> pd.DataFrame:
    """USER_ID, plus the metadata the users table has (AGE where any is known, COUNTRY where any is given); never a
    name or an address: contact data stays out of Personalize."""
    present = {
        column: field
        for column, field in OPTIONAL_USER_COLUMNS.items()
        if column in users.columns and users[column].replace("", pd.NA).notna().any()
    }
    frame = users[["user_id", *present]].rename(columns={"user_id": "USER_ID", **present})
    return frame.astype({"USER_ID": "string"}).reset_index(drop=True)
