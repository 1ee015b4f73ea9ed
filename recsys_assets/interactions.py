"""Turn reviews and their sentiment, and events (purchases, add-to-carts, views), into Amazon Personalize
interactions: one row per (USER_ID, ITEM_ID) pair (docs/own-data.md, "Interactions from events")."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

INTERACTION_COLUMNS = ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE")
EVENT_TYPE = "review"
PURCHASE = "purchase"
CANCELLATION = "cancellation"
# EVENT_VALUE of each event type: a purchase is the strongest sign of interest, a view the weakest.
DEFAULT_EVENT_WEIGHTS = {PURCHASE: 1.0, "add-to-cart": 0.5, "view": 0.2}


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


@dataclass(frozen=True)
class InteractionRules:
    """How events become interactions: the EVENT_VALUE of each event type (`unknown_event_weight` for the others),
    Personalize's event-value threshold (an event whose own event_value is below it is no positive signal; None:
    no threshold) and repeat purchases (`buy_again_after_days` None: never recommend what a customer bought; N: an
    item bought at least N days before the newest event may be recommended again, `ml.serving`)."""

    event_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    unknown_event_weight: float = 0.2
    event_value_threshold: float | None = None
    buy_again_after_days: int | None = None


def event_weights(events: pd.DataFrame, rules: InteractionRules) -> pd.Series:
    """Each event's EVENT_VALUE under `rules`: its type's weight, 0 below the event-value threshold."""
    weight = events["event_type"].str.lower().map(rules.event_weights).astype("float64")
    weight = weight.fillna(rules.unknown_event_weight)
    if rules.event_value_threshold is not None:
        weight = weight.mask(events["event_value"] < rules.event_value_threshold, 0.0)
    return weight


def netted_out(events: pd.DataFrame) -> pd.Series:
    """Cancellations, and the purchases of (user, product) pairs whose cancellations leave no unit bought (a quantity
    of 0, not known, counts as one unit bought or cancelled)."""
    kind = events["event_type"].str.lower()
    purchase, cancellation = (kind == PURCHASE).to_numpy(), (kind == CANCELLATION).to_numpy()
    units = events["quantity"].abs().replace(0.0, 1.0).to_numpy()
    signed = pd.Series(np.where(purchase, units, np.where(cancellation, -units, 0.0)), index=events.index)
    net = signed.groupby([events["user_id"], events["product_id"]]).transform("sum")
    return pd.Series(cancellation, index=events.index) | (pd.Series(purchase, index=events.index) & (net <= 0))


def event_interactions(events: pd.DataFrame, rules: InteractionRules = InteractionRules()) -> pd.DataFrame:
    """One Personalize interaction per (user, product) of the customers' events (anonymous ones are popularity,
    `anonymous_popularity`): the strongest event's type and weight, the latest TIMESTAMP, purchases net of
    cancellations; sorted by (USER_ID, TIMESTAMP, ITEM_ID)."""
    known = events[events["user_id"].fillna("") != ""]
    known = known[~netted_out(known)]
    pairs = pd.DataFrame(
        {
            "USER_ID": known["user_id"].astype("string"),
            "ITEM_ID": known["product_id"].astype("string"),
            "TIMESTAMP": known["timestamp"].astype("int64"),
            "EVENT_TYPE": known["event_type"].str.lower().astype("string"),
            "EVENT_VALUE": event_weights(known, rules),
        }
    )
    return strongest_per_pair(pairs)


def strongest_per_pair(interactions: pd.DataFrame) -> pd.DataFrame:
    """One row per (USER_ID, ITEM_ID): the EVENT_TYPE and EVENT_VALUE of its strongest row (ties: the later), the
    latest TIMESTAMP; sorted by (USER_ID, TIMESTAMP, ITEM_ID)."""
    latest = interactions.groupby(["USER_ID", "ITEM_ID"])["TIMESTAMP"].transform("max")
    strongest = interactions.sort_values(["EVENT_VALUE", "TIMESTAMP"], kind="stable").drop_duplicates(
        ["USER_ID", "ITEM_ID"], keep="last"
    )
    table = strongest.assign(TIMESTAMP=latest[strongest.index].astype("int64"))[list(INTERACTION_COLUMNS)]
    return table.sort_values(["USER_ID", "TIMESTAMP", "ITEM_ID"], kind="stable").reset_index(drop=True)


def combine_interactions(review_interactions: pd.DataFrame, event_interactions: pd.DataFrame) -> pd.DataFrame:
    """Reviews' and events' interactions in one table, one row per pair: the stronger (ties: the later, then the
    event's)."""
    return strongest_per_pair(pd.concat([review_interactions, event_interactions], ignore_index=True))


def anonymous_popularity(events: pd.DataFrame, rules: InteractionRules = InteractionRules()) -> pd.Series:
    """Per product_id, the anonymous events (no user_id) of positive weight that no cancellation nets out: what
    lines without a customer add to an item's popularity (they are no one's interaction)."""
    anonymous = events[events["user_id"].fillna("") == ""]
    anonymous = anonymous[~netted_out(anonymous) & (event_weights(anonymous, rules) > 0)]
    return anonymous["product_id"].astype("string").value_counts().rename("anonymous_events")
