"""The holdout: a deterministic random share of a campaign's customers who get no email (docs/sending.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.util import hash_pandas_object

# SipHash-2-4 key of pandas' hash_pandas_object: fixed, so a customer's draw never changes between runs or machines
HOLDOUT_HASH_KEY = "recsys-holdout16"
UNIT_BITS = 53  # the top 53 bits of the 64-bit hash make an exactly uniform float in [0, 1)


def in_holdout(campaign: str, user_ids: pd.Series, share: float) -> pd.Series:
    """True for the customers held out of `campaign`: a hash of campaign and user id below `share`, so each
    customer's draw depends on nothing else (not the order, not the other customers); indexed like `user_ids`."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"holdout share must be between 0 and 1, got {share}")
    keys = (campaign + "\x1f" + user_ids.astype("string").fillna("")).astype(object)
    hashes = hash_pandas_object(keys, index=False, hash_key=HOLDOUT_HASH_KEY, categorize=False).to_numpy()
    draws = (hashes >> np.uint64(64 - UNIT_BITS)).astype(np.float64) / float(2**UNIT_BITS)
    return pd.Series(draws < share, index=user_ids.index, name="holdout")
