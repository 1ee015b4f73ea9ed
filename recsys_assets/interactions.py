"""Turn reviews and their sentiment into Amazon Personalize interactions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

INTERACTION_COLUMNS = ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE")
EVENT_TYPE = "review"


@dataclass(frozen=True)
class EventValueRule:
    """How a review becomes an EVENT_VALUE in [0, 1]: a blend of its polarity and the product's star rating, 0 for a
    strongly negative review. The formula and why this rule: docs/sentiment.md, "From sentiment to event values"."""

    sentiment_weight: float = 0.6
    negative_floor: float = 0.5


def event_values(rating: pd.Series, sentiment: pd.DataFrame, rule: EventValueRule = EventValueRule()) -> np.ndarray:
    """EVENT_VALUE per review from the product rating and the review's Comprehend-shaped sentiment."""
    polarity = (sentiment["Positive"].to_numpy() - sentiment["Negative"].to_numpy() + 1.0) / 2.0
    stars = (rating.fillna(3.0).clip(1.0, 5.0).to_numpy(dtype=float) - 1.0) / 4.0
    value = rule.sentiment_weight * polarity + (1.0 - rule.sentiment_weight) * stars
    strongly_negative = (sentiment["Sentiment"].to_numpy() == "NEGATIVE") & (
        sentiment["Negative"].to_numpy() >= rule.negative_floor
    )
    return np.round(np.where(strongly_negative, 0.0, np.clip(value, 0.0, 1.0)), 4)


def build_interactions(
    reviews: pd.DataFrame,
    sentiment: pd.DataFrame,
    products: pd.DataFrame,
    rule: EventValueRule = EventValueRule(),
) -> pd.DataFrame:
    """One Personalize interaction per review, sorted by (USER_ID, TIMESTAMP, ITEM_ID)."""
    joined = reviews[["user_id", "product_id", "timestamp"]].merge(
        sentiment.drop(columns=["review_id"], errors="ignore"),
        on=["user_id", "product_id"],
        how="left",
        validate="one_to_one",
    )
    joined = joined.merge(products[["product_id", "rating"]], on="product_id", how="left")
    neutral = joined["Sentiment"].isna()
    joined.loc[neutral, ["Positive", "Negative", "Mixed"]] = 0.0
    joined.loc[neutral, "Sentiment"] = "NEUTRAL"
    interactions = pd.DataFrame(
        {
            "USER_ID": joined["user_id"].astype("string"),
            "ITEM_ID": joined["product_id"].astype("string"),
            "TIMESTAMP": joined["timestamp"].astype("int64"),
            "EVENT_TYPE": pd.Series(EVENT_TYPE, index=joined.index, dtype="string"),
            "EVENT_VALUE": event_values(joined["rating"], joined, rule),
        }
    )
    return interactions.sort_values(["USER_ID", "TIMESTAMP", "ITEM_ID"], kind="stable").reset_index(drop=True)
