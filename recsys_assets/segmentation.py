"""Customer segments: which marketing segment each customer belongs to."""

from __future__ import annotations

import pandas as pd

GENERAL_SEGMENT = "general"


def segment_slug(categories: pd.Series) -> pd.Series:
    """'Home&Kitchen' -> 'home-kitchen', 'HomeImprovement' -> 'home-improvement'."""
    return (
        categories.fillna("")
        .str.replace(r"(?<=[a-z])(?=[A-Z])", "-", regex=True)
        .str.lower()
        .str.replace(r"[^a-z0-9]+", "-", regex=True)
        .str.strip("-")
    )


def assign_segments(users: pd.DataFrame, min_reviews: int = 2) -> pd.DataFrame:
    """Segment = the top-level category the customer reviews most (slugged); customers with fewer
    than `min_reviews` reviews, or no category, are in the general segment."""
    slug = segment_slug(users["favourite_category"].astype("string"))
    enough = (users["review_count"] >= min_reviews) & (slug != "")
    segment = slug.where(enough, GENERAL_SEGMENT)
    return pd.DataFrame(
        {"user_id": users["user_id"].astype("string"), "segment": segment.astype("string")}
    ).sort_values("user_id", kind="stable", ignore_index=True)
