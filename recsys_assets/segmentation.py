"""Customer segments: which marketing segment each customer belongs to."""

from __future__ import annotations

import hashlib

import pandas as pd

GENERAL_SEGMENT = "general"
# A segment names a partition, a folder and file names: longer slugs are cut and end in a digest (docs/input.md).
MAX_SEGMENT_CHARS = 64
DIGEST_CHARS = 8
# slugs up to this length are kept whole; a cut one is longer, so it never equals a whole one
KEPT_CHARS = MAX_SEGMENT_CHARS - DIGEST_CHARS - 1


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


def assign_segments(users: pd.DataFrame, min_reviews: int = 2) -> pd.DataFrame:
    """Segment = the top-level category the customer reviews most (slugged); customers with fewer
    than `min_reviews` reviews, or no category, are in the general segment."""
    slug = segment_slug(users["favourite_category"].astype("string"))
    enough = (users["interaction_count"] >= min_reviews) & (slug != "")
    segment = slug.where(enough, GENERAL_SEGMENT)
    return pd.DataFrame(
        {"user_id": users["user_id"].astype("string"), "segment": segment.astype("string")}
    ).sort_values("user_id", kind="stable", ignore_index=True)
