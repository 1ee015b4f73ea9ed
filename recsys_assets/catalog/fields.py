"""Field values of the catalog format: prices and counts with western or Indian digit grouping, comma-joined lists."""

from __future__ import annotations

import pandas as pd

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
