import pandas as pd

from recsys_assets.emails import render
from recsys_assets.emails.render import email_digests, email_items, format_price, input_digests

from .conftest import own_addresses


def segment() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Recommendations of 3 users (2, 1 and 2 rows), 3 products and 4 users."""
    recommendations = pd.DataFrame(
        {
            "USER_ID": ["U3", "U1", "U1", "U2", "U3"],
            "RANK": [1, 2, 1, 1, 2],
            "ITEM_ID": ["P2", "P2", "P1", "P1", "P1"],
            "SCORE": [0.4, 0.5, 0.9, 0.1, 0.2],
            "SOURCE": ["als", "als", "als", "popularity", "als"],
            "REASON_ITEM_ID": ["P1", "P3", "P3", None, "P2"],
            "REASON_CATEGORY": [None, None, None, "Home&Kitchen", None],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3"],
            "product_name": ["Kettle", "Mixer", "Toaster"],
            "discounted_price": [499.0, 1099.0, 799.0],
            "actual_price": [999.0, 1099.0, 999.0],
            "discount_percentage": [50.0, 0.0, 20.0],
            "rating": [4.1, None, 3.9],
            "product_link": ["https://shop.example/p1", "", "https://shop.example/p3"],
            "img_link": ["", "", ""],
        }
    )
    users = pd.DataFrame({"user_id": ["U1", "U2", "U3", "U4"], "user_name": ["Asha", "", "Ravi", "Unused"]})
    return recommendations, products, users


def test_digests_by_parts_of_users_are_the_digests_of_the_whole_segment(monkeypatch):
    recommendations, products, users = segment()
    to = own_addresses(users["user_id"])
    whole = input_digests(email_items(recommendations, products), users, to, "v1")
    monkeypatch.setattr(render, "DIGEST_USERS", 1)
    by_parts = email_digests(recommendations, products, users, to, "v1")
    assert by_parts.index.tolist() == ["U1", "U2", "U3"]
    pd.testing.assert_series_equal(by_parts, whole)


def test_digests_look_at_one_part_of_users_at_a_time(monkeypatch):
    recommendations, products, users = segment()
    sizes = []

    def recording(part: pd.DataFrame, part_products: pd.DataFrame) -> pd.DataFrame:
        sizes.append(part["USER_ID"].nunique())
        return email_items(part, part_products)

    monkeypatch.setattr(render, "DIGEST_USERS", 1)
    monkeypatch.setattr(render, "email_items", recording)
    email_digests(recommendations, products, users, own_addresses(users["user_id"]), "v1")
    assert sizes == [1, 1, 1]


def test_display_texts_are_made_once_per_product_not_per_row(monkeypatch):
    recommendations, products, _ = segment()
    formatted = []

    def recording(amounts: pd.Series, currency: str, locale: str) -> pd.Series:
        formatted.append(len(amounts))
        return format_price(amounts, currency, locale)

    monkeypatch.setattr(render, "format_price", recording)
    email_items(pd.concat([recommendations] * 50, ignore_index=True), products)
    assert formatted == [2, 2]  # the 2 recommended products' prices and list prices, for 250 rows
