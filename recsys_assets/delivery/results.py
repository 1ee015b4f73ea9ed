"""What a campaign did: conversion of mailed customers against the holdout, with lift and its interval."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from recsys_assets.delivery.eligibility import DAY_SECONDS

Z_95 = NormalDist().inv_cdf(0.975)
MEASURES = ("recommended product", "any product")
LIFT_COLUMNS = (
    "measure",
    "mailed_customers",
    "mailed_converters",
    "mailed_conversion",
    "holdout_customers",
    "holdout_converters",
    "holdout_conversion",
    "lift",  # mailed_conversion - holdout_conversion
    "lift_low",  # 95% interval of lift: Newcombe's hybrid score (method 10) from two Wilson intervals
    "lift_high",
    "relative_lift",  # mailed_conversion / holdout_conversion - 1
    "relative_lift_low",  # 95% interval: Katz's log method for the ratio; NaN without converters on a side
    "relative_lift_high",
    "verdict",
)


def campaign_lift(
    ledger: pd.DataFrame,
    interactions: pd.DataFrame,
    recommended: pd.DataFrame,
    sent_at: int,
    window_days: int,
    min_event_value: float = 0.0,
) -> pd.DataFrame:
    """LIFT_COLUMNS per measure: of the campaign's customers (every row but holdout is "mailed", whether the send
    succeeded, failed or is uncertain: intent to treat, so bounced customers do not flatter the lift), those with a
    positive interaction (EVENT_VALUE above `min_event_value`) after `sent_at` and within `window_days`, with
    a product recommended to them (`recommended`: USER_ID, ITEM_ID) or with any product."""
    status = ledger["status"].astype(object)
    groups = {
        "mailed": set(ledger.loc[status != "holdout", "user_id"].astype(object)),
        "holdout": set(ledger.loc[status == "holdout", "user_id"].astype(object)),
    }
    timestamps = interactions["TIMESTAMP"].to_numpy()
    followed = interactions[
        (timestamps > sent_at)
        & (timestamps <= sent_at + window_days * DAY_SECONDS)
        & (interactions["EVENT_VALUE"].to_numpy() > min_event_value)
    ]
    pairs = followed[["USER_ID", "ITEM_ID"]].astype(object)
    of_recommended = pairs.merge(recommended[["USER_ID", "ITEM_ID"]].astype(object).drop_duplicates())
    converters = {
        "recommended product": set(of_recommended["USER_ID"]),
        "any product": set(pairs["USER_ID"]),
    }
    rows = []
    for measure in MEASURES:
        counts = {group: (len(members), len(members & converters[measure])) for group, members in groups.items()}
        rows.append({"measure": measure, **_comparison(*counts["mailed"], *counts["holdout"])})
    return pd.DataFrame(rows, columns=list(LIFT_COLUMNS))


def _comparison(mailed: int, mailed_converters: int, held: int, held_converters: int) -> dict:
    """Conversion of both groups, the difference and ratio with their 95% intervals, and the verdict."""
    p1, p2 = _share(mailed_converters, mailed), _share(held_converters, held)
    low1, high1 = wilson_interval(mailed_converters, mailed)
    low2, high2 = wilson_interval(held_converters, held)
    lift = p1 - p2
    lift_low = lift - np.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    lift_high = lift + np.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    ratio_low, ratio_high = _katz_interval(mailed_converters, mailed, held_converters, held)
    return {
        "mailed_customers": mailed,
        "mailed_converters": mailed_converters,
        "mailed_conversion": p1,
        "holdout_customers": held,
        "holdout_converters": held_converters,
        "holdout_conversion": p2,
        "lift": lift,
        "lift_low": lift_low,
        "lift_high": lift_high,
        "relative_lift": p1 / p2 - 1 if p2 > 0 else np.nan,
        "relative_lift_low": ratio_low - 1,
        "relative_lift_high": ratio_high - 1,
        "verdict": _verdict(mailed, held, lift, lift_low, lift_high),
    }


def wilson_interval(successes: int, trials: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion; NaN for no trials."""
    if trials == 0:
        return np.nan, np.nan
    centre = (successes + Z_95**2 / 2) / (trials + Z_95**2)
    half = Z_95 * np.sqrt(successes * (trials - successes) / trials + Z_95**2 / 4) / (trials + Z_95**2)
    return centre - half, centre + half


def _katz_interval(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """The 95% interval of the ratio of two proportions (log method); NaN when a side has no successes."""
    if min(x1, x2) == 0:
        return np.nan, np.nan
    log_ratio = np.log((x1 / n1) / (x2 / n2))
    spread = Z_95 * np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return float(np.exp(log_ratio - spread)), float(np.exp(log_ratio + spread))


def _share(part: int, whole: int) -> float:
    return part / whole if whole else np.nan


def _verdict(mailed: int, held: int, lift: float, low: float, high: float) -> str:
    if not mailed or not held:
        return f"not measurable: {'no customer was mailed' if not mailed else 'no customer was held out'}"
    interval = f"95% interval {low * 100:+.1f} to {high * 100:+.1f} points"
    if low > 0:
        return f"lift: mailed customers converted {lift * 100:.1f} points more than the holdout ({interval})"
    if high < 0:
        return f"negative lift: mailed customers converted {-lift * 100:.1f} points less than the holdout ({interval})"
    return f"no evidence of lift ({interval}, which spans 0)"
