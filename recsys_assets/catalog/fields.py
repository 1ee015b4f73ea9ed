"""Field values of the catalog format: prices and counts with western or Indian digit grouping, comma-joined lists."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Amazon Personalize's limit for USER_ID and ITEM_ID: longer ids are quarantined at reading (docs/input.md).
MAX_ID_CHARS = 256
# Plausible epoch seconds (after 1970-01-01, before 2106-02-07) and ages (whole years): docs/input.md.
TIMESTAMP_RANGE = (1, 2**32 - 1)
AGE_RANGE = (0, 150)
# Prices and counts above this are refused: float64 holds every whole number up to it (docs/input.md).
MAX_NUMBER = 2.0**53

# Plain digits, western grouping (1,099,000) or Indian grouping (1,00,000), with optional decimals.
NUMBER_PATTERN = r"(\d+|\d{1,3}(,\d{3})+|\d{1,2}(,\d{2})*,\d{3})(\.\d+)?"


def parse_number(values: pd.Series) -> pd.Series:
    """'₹1,099' / '₹1,00,000' / '24,269' / '64%' / '4.2' -> float; anything else ('1.099,00') -> NaN."""
    stripped = values.astype("string").str.strip().str.replace(r"^₹\s*|%$", "", regex=True)
    numeric = stripped.str.fullmatch(NUMBER_PATTERN).fillna(False)
    cleaned = stripped.where(numeric).str.replace(",", "", regex=False)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def split_list(values: pd.Series, pattern: str = ",") -> pd.Series:
    """Split comma-joined lists into Python lists."""
    return values.fillna("").str.split(pattern, regex=len(pattern) > 1)


def whole_numbers(values: pd.Series, low: int, high: int) -> pd.Series:
    """Text -> float64 where it is a whole number in [low, high] ('30', '30.0', '1.7e9'), NaN elsewhere."""
    number = pd.to_numeric(values, errors="coerce").astype("float64")  # surrounding spaces are fine
    return number.where(np.isfinite(number) & (number == number.round()) & number.between(low, high))
