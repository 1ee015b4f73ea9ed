"""Row rules shared by the formats with one record per row (Personalize datasets, suppression lists): each rule is
(mask of faulty rows, column, reason) for catalog.reading.first_faults; values are read as the file writes them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_assets.catalog.fields import MAX_ID_CHARS, TIMESTAMP_RANGE, whole_numbers
from recsys_assets.catalog.reading import CONTROL_CHARACTERS, SOURCE_COLUMNS, InputLimits

Fault = tuple[pd.Series, str, str]
# The start of an ISO 8601 date: 2024-03-01, 2024-03-01T10:00:00Z, 2024-03-01 10:00+02:00.
ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def text(rows: pd.DataFrame, column: str) -> pd.Series:
    """A column stripped of surrounding whitespace, or "" on every row where the file has no such column."""
    if column not in rows.columns:
        return pd.Series("", index=rows.index, dtype="string")
    return rows[column].astype("string").str.strip()


def text_faults(rows: pd.DataFrame, limits: InputLimits, item_columns: tuple[str, ...] = ()) -> list[Fault]:
    """Control characters in any field, then fields longer than the limit (`item_columns`: a single text such as
    a review's, held to the per-item limit as the Kaggle export's list items are)."""
    columns = [c for c in rows.columns if c not in SOURCE_COLUMNS]
    faults = [(rows[c].str.contains(CONTROL_CHARACTERS, regex=True), c, "control character") for c in columns]
    for column in columns:
        limit = limits.max_item_chars if column in item_columns else limits.max_field_chars
        faults.append((rows[column].str.len() > limit, column, f"longer than {limit:,} characters"))
    return faults


def id_faults(rows: pd.DataFrame, column: str, required: bool = True) -> list[Fault]:
    """An id that is missing (where `required`) or longer than Personalize's limit."""
    ids = text(rows, column)
    faults = [(ids == "", column, f"missing {column}")] if required else []
    return [*faults, (ids.str.len() > MAX_ID_CHARS, column, f"{column} longer than {MAX_ID_CHARS} characters")]


def number(rows: pd.DataFrame, column: str, low: float, high: float) -> tuple[pd.Series, list[Fault]]:
    """A plain number column (NaN where empty or absent) and its faults: not a number, outside [low, high]."""
    given = text(rows, column)
    value = pd.to_numeric(given.where(given != ""), errors="coerce").astype("float64")
    faults = [
        ((given != "") & value.isna(), column, f"{column} is not a number"),
        (value.notna() & ~value.between(low, high), column, f"{column} out of range"),
    ]
    return value, faults


def epoch_seconds(rows: pd.DataFrame, column: str = "TIMESTAMP") -> tuple[pd.Series, list[Fault]]:
    """Whole epoch seconds in TIMESTAMP_RANGE, or an ISO 8601 date or date-time (UTC without an offset, fractions
    of a second dropped), as float64; a value that is neither (or absent) is a fault."""
    given = text(rows, column)
    seconds = whole_numbers(given, *TIMESTAMP_RANGE)
    iso = seconds.isna() & given.str.match(ISO_DATE)
    if iso.any():
        dates = pd.to_datetime(given[iso], format="ISO8601", utc=True, errors="coerce")
        since_epoch = (dates - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        seconds[iso] = np.floor(since_epoch).where(since_epoch.between(*TIMESTAMP_RANGE))
    low, high = TIMESTAMP_RANGE
    reason = f"{column} is not whole epoch seconds from {low:,} to {high:,} or an ISO 8601 date"
    return seconds, [(seconds.isna(), column, reason)]
