"""Customer segments: which marketing segment each customer belongs to, by one of SEGMENT_RULES (docs/segments.md)."""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np
import pandas as pd

GENERAL_SEGMENT = "general"
# A segment names a partition, a folder and file names: longer slugs are cut and end in a digest (docs/input.md).
MAX_SEGMENT_CHARS = 64
DIGEST_CHARS = 8
# slugs up to this length are kept whole; a cut one is longer, so it never equals a whole one
KEPT_CHARS = MAX_SEGMENT_CHARS - DIGEST_CHARS - 1

CATEGORY, COUNTRY, RFM = "category", "country", "rfm"
SEGMENT_RULES = (CATEGORY, COUNTRY, RFM)
SECONDS_PER_DAY = 86_400
# What RFM's frequency and monetary value count (Activity.frequency, Activity.monetary).
DISTINCT_ORDERS, DISTINCT_DAYS = "distinct orders", "distinct days"
NET_REVENUE, INTERACTION_COUNT = "net revenue", "interactions"
PURCHASE = "purchase"
SALE_EVENTS = (PURCHASE, "cancellation")  # formats.order_lines: a cancellation has negative quantity and revenue
# The RFM tier of each (R score, FM score): row R 1..5, column FM 1..5 (docs/segments.md has the grid).
RFM_TIERS = np.array(
    [
        ["hibernating", "hibernating", "at-risk", "at-risk", "cannot-lose"],
        ["hibernating", "hibernating", "at-risk", "at-risk", "cannot-lose"],
        ["about-to-sleep", "about-to-sleep", "need-attention", "loyal", "loyal"],
        ["promising", "potential-loyal", "potential-loyal", "loyal", "loyal"],
        ["new", "potential-loyal", "potential-loyal", "champions", "champions"],
    ],
    dtype=object,
)
TIER_ORDER = (
    "champions",
    "loyal",
    "potential-loyal",
    "new",
    "promising",
    "need-attention",
    "about-to-sleep",
    "at-risk",
    "cannot-lose",
    "hibernating",
    GENERAL_SEGMENT,
)
RFM_COLUMNS = ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score")


def segment_slug(categories: pd.Series) -> pd.Series:
    """'Home&Kitchen' -> 'home-kitchen', 'HomeImprovement' -> 'home-improvement'; a slug longer than KEPT_CHARS
    keeps its start and ends in a digest of the whole slug, at most MAX_SEGMENT_CHARS (distinct slugs stay distinct)."""
    slug = (
        categories.fillna("")
        .str.replace(r"(?<=[a-z])(?=[A-Z])", "-", regex=True)
        .str.lower()
        .str.replace(r"[^a-z0-9]+", "-", regex=True)
        .str.strip("-")
    )
    long = slug[slug.str.len() > KEPT_CHARS]
    if long.empty:
        return slug
    cut = {
        whole: f"{whole[:KEPT_CHARS].rstrip('-')}-{hashlib.sha256(whole.encode()).hexdigest()[:DIGEST_CHARS]}"
        for whole in long.unique()
    }
    return slug.where(slug.str.len() <= KEPT_CHARS, slug.map(cut))


class Activity(NamedTuple):
    """What RFM reads: per purchase (or interaction) `user_id`, `timestamp`, `visit` (the order id, or the day, that
    frequency counts; NA for a line that is no purchase, such as a cancellation) and `value` (what monetary sums);
    `as_of` is the newest event's time, and `frequency` and `monetary` say what they count."""

    rows: pd.DataFrame
    as_of: int
    frequency: str
    monetary: str


def customer_activity(interactions: pd.DataFrame, events: pd.DataFrame | None = None) -> Activity:
    """The customers' purchases and cancellations in `events` (formats.tables.EVENT_COLUMNS) when it holds a
    purchase, else every interaction (Personalize's USER_ID, TIMESTAMP). Frequency counts the purchases' distinct
    order ids, or distinct days without them; monetary sums net revenue (cancellations subtract), or counts
    interactions without prices."""
    times = [interactions["TIMESTAMP"]] + ([events["timestamp"]] if events is not None else [])
    as_of = int(max((t.max() for t in times if len(t)), default=0))
    sales = (
        events[events["event_type"].isin(SALE_EVENTS) & (events["user_id"].fillna("") != "")]
        if events is not None
        else None
    )
    if sales is None or not (sales["event_type"] == PURCHASE).any():
        rows = pd.DataFrame(
            {
                "user_id": interactions["USER_ID"].astype("string"),
                "timestamp": interactions["TIMESTAMP"].astype("int64"),
                "visit": "day " + (interactions["TIMESTAMP"] // SECONDS_PER_DAY).astype("string"),
                "value": 1.0,
            }
        )
        return Activity(rows, as_of, DISTINCT_DAYS, INTERACTION_COUNT)
    order = sales["order_id"].fillna("").astype("string")
    with_orders = bool((order != "").any())
    day = "day " + (sales["timestamp"] // SECONDS_PER_DAY).astype("string")
    visit = order.where(order != "", day) if with_orders else day
    priced = bool((sales["revenue"] != 0).any())
    rows = pd.DataFrame(
        {
            "user_id": sales["user_id"].astype("string"),
            "timestamp": sales["timestamp"].astype("int64"),
            "visit": visit.where((sales["event_type"] == PURCHASE) & (sales["quantity"] >= 0)),
            "value": sales["revenue"].astype("float64") if priced else 1.0,
        }
    )
    return Activity(
        rows, as_of, DISTINCT_ORDERS if with_orders else DISTINCT_DAYS, NET_REVENUE if priced else INTERACTION_COUNT
    )


def quintile_scores(values: pd.Series) -> pd.Series:
    """1-5: one plus the fifths of all values that are strictly lower (equal values share a score; 5 the highest)."""
    below = values.rank(method="min").to_numpy() - 1
    return pd.Series(1 + (5 * below // max(len(values), 1)).astype("int64"), index=values.index)


def rfm_scores(activity: Activity) -> pd.DataFrame:
    """Per customer with a purchase (a visit), indexed by user_id: days since the last one (to `as_of`), frequency,
    monetary value and their 1-5 scores (R 5 the most recent)."""
    rows = activity.rows
    bought = rows[rows["visit"].notna()]
    last = bought.groupby("user_id")["timestamp"].max()
    frequency = bought.groupby("user_id")["visit"].nunique().reindex(last.index)
    monetary = rows.groupby("user_id")["value"].sum().reindex(last.index)
    return pd.DataFrame(
        {
            "recency_days": (activity.as_of - last) // SECONDS_PER_DAY,
            "frequency": frequency.astype("int64"),
            "monetary": monetary.astype("float64"),
            "r_score": quintile_scores(last),
            "f_score": quintile_scores(frequency),
            "m_score": quintile_scores(monetary),
        }
    ).rename_axis("user_id")


def rfm_tiers(r_score: pd.Series, f_score: pd.Series, m_score: pd.Series) -> pd.Series:
    """The RFM_TIERS name of each customer's R score and FM score (the mean of F and M, rounded half up)."""
    fm_score = (f_score + m_score + 1) // 2
    return pd.Series(RFM_TIERS[r_score.to_numpy() - 1, fm_score.to_numpy() - 1], index=r_score.index, dtype="string")


def category_segments(users: pd.DataFrame, min_interactions: int = 2) -> pd.DataFrame:
    """Segment = the top-level category the customer interacts with most (slugged); customers with fewer than
    `min_interactions` interactions, or no category, are in the general segment."""
    slug = segment_slug(users["favourite_category"].astype("string"))
    enough = (users["interaction_count"] >= min_interactions) & (slug != "")
    return _segments(users["user_id"], slug.where(enough, GENERAL_SEGMENT))


def country_segments(users: pd.DataFrame) -> pd.DataFrame:
    """Segment = the customer's country, slugged ('United Kingdom' -> 'united-kingdom'); no country: general."""
    slug = segment_slug(users["country"].astype("string"))
    return _segments(users["user_id"], slug.where(slug != "", GENERAL_SEGMENT))


def rfm_segments(users: pd.DataFrame, activity: Activity) -> pd.DataFrame:
    """Segment = the customer's RFM tier (rfm_tiers), with their RFM_COLUMNS; a customer of `users` without a
    purchase in `activity` is in the general segment, with no scores."""
    ids = users["user_id"].astype("string")
    mine = activity._replace(rows=activity.rows[activity.rows["user_id"].isin(ids)])
    scores = rfm_scores(mine)
    tiers = rfm_tiers(scores["r_score"], scores["f_score"], scores["m_score"])
    table = _segments(ids, ids.map(tiers).fillna(GENERAL_SEGMENT))
    per_user = scores.reindex(table["user_id"]).reset_index(drop=True)
    for column in RFM_COLUMNS:
        table[column] = per_user[column].astype("float64" if column == "monetary" else "Int64")
    return table


def assign_segments(
    users: pd.DataFrame, rule: str = CATEGORY, activity: Activity | None = None, min_interactions: int = 2
) -> pd.DataFrame:
    """Each customer of `users` (user_id, interaction_count, favourite_category, country) in one segment by `rule`,
    sorted by user_id: user_id, segment (and RFM_COLUMNS for rfm, which reads `activity`)."""
    if rule == CATEGORY:
        return category_segments(users, min_interactions)
    if rule == COUNTRY:
        return country_segments(users)
    if rule == RFM:
        if activity is None:
            raise ValueError("the rfm segments need the customers' activity")
        return rfm_segments(users, activity)
    raise ValueError(f"unknown segment rule {rule!r}: expected one of {', '.join(SEGMENT_RULES)}")


def rfm_tier_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per segment of an rfm table, in TIER_ORDER: customers and the mean recency (days), frequency and monetary."""
    summary = table.groupby("segment").agg(
        customers=("user_id", "size"),
        recency_days=("recency_days", "mean"),
        frequency=("frequency", "mean"),
        monetary=("monetary", "mean"),
    )
    order = [tier for tier in TIER_ORDER if tier in summary.index]
    return summary.loc[order].rename_axis("segment").reset_index()


def _segments(user_ids: pd.Series, segment: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {"user_id": user_ids.astype("string").to_numpy(), "segment": segment.astype("string").to_numpy()}
    ).sort_values("user_id", kind="stable", ignore_index=True)
