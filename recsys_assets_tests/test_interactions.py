import pandas as pd
import pytest

from recsys_assets.interactions import (
    INTERACTION_COLUMNS,
    EventValueRule,
    InteractionRules,
    anonymous_popularity,
    build_interactions,
    combine_interactions,
    event_interactions,
    event_values,
)
from recsys_assets.ml.registry import MODELS
from recsys_assets.ml.serving import may_buy_again


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


def events(*rows: tuple) -> pd.DataFrame:
    """Events from (user_id, product_id, timestamp, event_type[, quantity[, event_value]]) tuples."""
    full = [(*row, *(1.0, float("nan"))[len(row) - 4 :]) for row in rows]
    return pd.DataFrame(full, columns=["user_id", "product_id", "timestamp", "event_type", "quantity", "event_value"])


def pairs(table: pd.DataFrame) -> list[list]:
    return table[["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"]].values.tolist()


def test_each_pair_has_the_strongest_event_type_its_weight_and_the_latest_time():
    table = event_interactions(
        events(
            ("U1", "P1", 10, "view"), ("U1", "P1", 20, "purchase"), ("U1", "P1", 30, "view"), ("U1", "P2", 5, "View")
        )
    )
    assert tuple(table.columns) == INTERACTION_COLUMNS
    assert pairs(table) == [["U1", "P2", 5, "view", 0.2], ["U1", "P1", 30, "purchase", 1.0]]


def test_event_weights_and_unknown_types_are_rules():
    rules = InteractionRules(event_weights={"purchase": 1.0, "add-to-cart": 0.7}, unknown_event_weight=0.05)
    table = event_interactions(events(("U1", "P1", 1, "add-to-cart"), ("U1", "P2", 2, "wishlist")), rules)
    assert table["EVENT_VALUE"].tolist() == [0.7, 0.05]


def test_an_event_below_the_event_value_threshold_is_no_positive_signal():
    rules = InteractionRules(event_value_threshold=0.5)
    table = event_interactions(
        events(("U1", "P1", 1, "view", 1.0, 0.2), ("U1", "P2", 2, "view", 1.0, 0.9), ("U1", "P3", 3, "view")), rules
    )
    assert table["EVENT_VALUE"].tolist() == [0.0, 0.2, 0.2]  # seen, so never recommended, but not liked


def test_a_cancellation_nets_out_the_purchase_it_cancels():
    table = event_interactions(
        events(
            ("U1", "P1", 10, "purchase", 2.0),
            ("U1", "P1", 20, "cancellation", -2.0),
            ("U1", "P2", 10, "purchase", 3.0),
            ("U1", "P2", 20, "cancellation", -1.0),
        )
    )
    assert pairs(table) == [["U1", "P2", 10, "purchase", 1.0]]


def test_a_cancelled_purchase_leaves_the_pairs_weaker_events():
    table = event_interactions(
        events(("U1", "P1", 5, "view"), ("U1", "P1", 10, "purchase", 1.0), ("U1", "P1", 20, "cancellation", -4.0))
    )
    assert pairs(table) == [["U1", "P1", 5, "view", 0.2]]


def test_anonymous_events_are_popularity_not_interactions():
    table = events(
        ("", "P1", 1, "purchase"), ("", "P1", 2, "purchase"), ("", "P2", 3, "view"), ("U1", "P1", 4, "purchase")
    )
    assert pairs(event_interactions(table)) == [["U1", "P1", 4, "purchase", 1.0]]
    assert anonymous_popularity(table).to_dict() == {"P1": 2, "P2": 1}


def test_combined_interactions_keep_the_stronger_of_a_review_and_an_event():
    reviews = pd.DataFrame(
        {"USER_ID": ["U1", "U1"], "ITEM_ID": ["P1", "P2"], "TIMESTAMP": [50, 50], "EVENT_TYPE": "review"}
    ).assign(EVENT_VALUE=[0.0, 0.9])
    purchases = event_interactions(events(("U1", "P1", 10, "purchase"), ("U1", "P2", 10, "view")))
    assert pairs(combine_interactions(reviews, purchases)) == [
        ["U1", "P1", 50, "purchase", 1.0],
        ["U1", "P2", 50, "review", 0.9],
    ]


DAY = 86_400
# u1 bought a 30 days before the newest event, b 5 days before and viewed c; the others bought what u1 may get.
PURCHASES = pd.DataFrame(
    [
        ("u1", "a", 0, "purchase"),
        ("u1", "b", 25 * DAY, "purchase"),
        ("u1", "c", 26 * DAY, "view"),
        ("u2", "a", 1 * DAY, "purchase"),
        ("u2", "b", 2 * DAY, "purchase"),
        ("u2", "d", 3 * DAY, "purchase"),
        ("u3", "a", 4 * DAY, "purchase"),
        ("u3", "d", 30 * DAY, "purchase"),
    ],
    columns=["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"],
).assign(EVENT_VALUE=1.0)


@pytest.mark.parametrize("model_name", ["item-item", "als", "popularity-unseen"])
@pytest.mark.parametrize(("days", "allowed"), [(None, set()), (30, {"a"}), (5, {"a", "b"}), (0, {"a", "b"})])
def test_buy_again_lets_only_purchases_old_enough_back_into_the_lists(model_name, days, allowed):
    items = pd.DataFrame({"ITEM_ID": ["a", "b", "c", "d", "e"]})
    spec = MODELS[model_name]
    model = spec.model.train(PURCHASES, items, spec.model.params_type(**spec.params))
    listed = set(model.recommend(PURCHASES, ["u1"], num_results=5, buy_again_after_days=days)["ITEM_ID"])
    assert listed & {"a", "b", "c"} == allowed  # c was only viewed: never again
    assert {"d", "e"} <= listed


def test_buy_again_counts_only_purchases_from_the_newest_event_of_the_data():
    assert may_buy_again(PURCHASES, 26).tolist() == [True, False, False, True, True, True, True, False]
    assert not may_buy_again(PURCHASES, None).any()
    assert not may_buy_again(PURCHASES.drop(columns="EVENT_TYPE"), 0).any()
