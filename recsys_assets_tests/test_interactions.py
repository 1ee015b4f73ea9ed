import pandas as pd
import pytest

from recsys_assets.interactions import INTERACTION_COLUMNS, EventValueRule, build_interactions, event_values


def sentiment(label: str, positive: float, negative: float) -> dict:
    neutral = 1.0 - positive - negative
    return {"Sentiment": label, "Positive": positive, "Negative": negative, "Neutral": neutral, "Mixed": 0.0}


def test_event_value_blends_sentiment_and_rating():
    scores = pd.DataFrame([sentiment("POSITIVE", 0.9, 0.1)])
    rule = EventValueRule(sentiment_weight=0.6)
    # polarity (0.9 - 0.1 + 1) / 2 = 0.9; stars (4.2 - 1) / 4 = 0.8 -> 0.6 * 0.9 + 0.4 * 0.8
    assert event_values(pd.Series([4.2]), scores, rule).tolist() == [pytest.approx(0.86)]


def test_a_strongly_negative_review_is_no_reason_to_recommend_more():
    scores = pd.DataFrame(
        [sentiment("NEGATIVE", 0.05, 0.8), sentiment("NEGATIVE", 0.3, 0.4), sentiment("POSITIVE", 0.8, 0.0)]
    )
    strong, mild, positive = event_values(pd.Series([5.0, 5.0, 5.0]), scores)
    assert strong == 0.0
    assert 0.0 < mild < positive


def test_missing_rating_counts_as_three_stars():
    scores = pd.DataFrame([sentiment("NEUTRAL", 0.0, 0.0)])
    assert event_values(pd.Series([None], dtype="float64"), scores, EventValueRule(sentiment_weight=0.0)).tolist() == [
        0.5
    ]


def test_interactions_are_in_personalize_format_sorted_and_complete():
    reviews = pd.DataFrame(
        {
            "review_id": ["R1", "R2", "R3"],
            "user_id": ["U2", "U1", "U1"],
            "product_id": ["P1", "P2", "P1"],
            "timestamp": [30, 20, 10],
        }
    )
    scores = pd.DataFrame(
        [
            {"user_id": "U2", "product_id": "P1", **sentiment("POSITIVE", 1.0, 0.0)},
            {"user_id": "U1", "product_id": "P2", **sentiment("NEGATIVE", 0.0, 0.9)},
        ]
    )
    products = pd.DataFrame({"product_id": ["P1", "P2"], "rating": [5.0, 1.0]})
    table = build_interactions(reviews, scores, products)
    assert tuple(table.columns) == INTERACTION_COLUMNS
    assert table[["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]].values.tolist() == [
        ["U1", "P1", 10, "review"],
        ["U1", "P2", 20, "review"],
        ["U2", "P1", 30, "review"],
    ]
    # U1/P1 has no sentiment row: scored as neutral text on a 5-star product
    assert table["EVENT_VALUE"].tolist() == [pytest.approx(0.7), 0.0, 1.0]
