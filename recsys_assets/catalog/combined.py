"""Every input file's tables (formats.tables.FileTables) combined into one, files in order: a later file wins."""

from __future__ import annotations

import pandas as pd

# The same event in two files (a re-exported order, say) is one event: the later file's.
EVENT_KEY = ["user_id", "product_id", "timestamp", "event_type", "order_id"]


def combine_products(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per product_id, sorted by it: the latest file's row."""
    products = pd.concat(frames, ignore_index=True).drop_duplicates("product_id", keep="last")
    return products.sort_values("product_id", kind="stable").reset_index(drop=True)


def combine_reviews(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per (user_id, product_id), sorted by them: the latest file's (and, within a file, the last) review."""
    reviews = pd.concat(frames, ignore_index=True).drop_duplicates(["user_id", "product_id"], keep="last")
    return reviews.sort_values(["user_id", "product_id"], kind="stable").reset_index(drop=True)


def combine_events(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Every file's events in file order, but those a later file has too (the same EVENT_KEY): that file's only."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    events = pd.concat([frame.assign(file_order=i) for i, frame in enumerate(frames)], ignore_index=True)
    latest = events.groupby(EVENT_KEY, sort=False, dropna=False)["file_order"].transform("max")
    return events[events["file_order"] == latest].drop(columns="file_order").reset_index(drop=True)
