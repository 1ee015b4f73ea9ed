"""Campaign results: conversion of mailed customers against the holdout, and whether the lift is real."""

import numpy as np
import pandas as pd
import pytest

from recsys_assets.delivery.eligibility import DAY_SECONDS
from recsys_assets.delivery.results import LIFT_COLUMNS, campaign_lift, wilson_interval

SENT_AT = 1_796_000_000


def follow_up(seed: int, mailed_rates: tuple[float, float], holdout_rates: tuple[float, float], customers=40_000):
    """A campaign of `customers` (10% held out), each with 3 recommended products, and a follow-up interactions
    file where a customer buys a recommended product at rates[0] and another product at rates[1], some inside the
    14-day window and some outside it."""
    rng = np.random.default_rng(seed)
    users = np.array([f"C{n:06d}" for n in range(customers)], dtype=object)
    held = rng.random(customers) < 0.1
    ledger = pd.DataFrame({"user_id": users, "status": np.where(held, "holdout", "sent")})
    recommended = pd.DataFrame(
        {"USER_ID": np.repeat(users, 3), "ITEM_ID": [f"P{n % 50}" for n in range(customers * 3)]}
    )
    rates = np.where(held[:, None], holdout_rates, mailed_rates)
    buys_recommended, buys_other = (rng.random((customers, 2)) < rates).T
    days = rng.uniform(0.01, 14, customers)
    interactions = pd.concat(
        [
            _events(
                users[buys_recommended],
                [f"P{(3 * n) % 50}" for n in np.flatnonzero(buys_recommended)],
                days[buys_recommended],
            ),
            _events(users[buys_other], "P999", days[buys_other]),
            _events(users[:500], "P1", np.full(500, -1.0)),  # before the send
            _events(users[:500], "P1", np.full(500, 20.0)),  # after the window
        ]
    )
    return ledger, interactions, recommended


def _events(users, items, days, value: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USER_ID": users,
            "ITEM_ID": items,
            "TIMESTAMP": (SENT_AT + days * DAY_SECONDS).astype("int64"),
            "EVENT_TYPE": "purchase",
            "EVENT_VALUE": value,
        }
    )


def test_a_planted_lift_is_found_within_its_interval():
    ledger, interactions, recommended = follow_up(1, mailed_rates=(0.06, 0.05), holdout_rates=(0.03, 0.05))
    lift = campaign_lift(ledger, interactions, recommended, SENT_AT, 14).set_index("measure")

    of_recommended = lift.loc["recommended product"]
    assert of_recommended["lift_low"] < 0.03 < of_recommended["lift_high"]
    assert of_recommended["lift_low"] > 0 and of_recommended["verdict"].startswith("lift: mailed customers converted")
    assert of_recommended["relative_lift_low"] < 1.0 < of_recommended["relative_lift_high"]  # planted: 6% / 3% - 1
    any_product = lift.loc["any product"]  # 1 - (1 - 0.06)(1 - 0.05) against 1 - 0.97 * 0.95
    assert any_product["lift_low"] < 0.107 - 0.0785 < any_product["lift_high"]


def test_no_planted_lift_gives_an_interval_that_spans_0():
    ledger, interactions, recommended = follow_up(2, mailed_rates=(0.04, 0.05), holdout_rates=(0.04, 0.05))
    lift = campaign_lift(ledger, interactions, recommended, SENT_AT, 14)

    assert list(lift.columns) == list(LIFT_COLUMNS)
    assert ((lift["lift_low"] < 0) & (lift["lift_high"] > 0)).all()
    assert lift["verdict"].str.startswith("no evidence of lift").all()


def test_only_positive_interactions_of_the_campaigns_customers_inside_the_window_count():
    ledger = pd.DataFrame(
        {"user_id": ["M1", "M2", "M3", "H1", "H2", "F1"], "status": ["sent"] * 3 + ["holdout"] * 2 + ["failed"]}
    )
    recommended = pd.DataFrame({"USER_ID": ["M1", "M2", "M3", "H1", "H2"], "ITEM_ID": ["P1", "P1", "P1", "P1", "P1"]})
    day = DAY_SECONDS
    interactions = pd.DataFrame(
        {
            "USER_ID": ["M1", "M2", "M3", "M3", "H1", "H2", "F1", "X9"],
            "ITEM_ID": ["P1", "P2", "P1", "P1", "P1", "P1", "P1", "P1"],
            "TIMESTAMP": [
                SENT_AT + day,
                SENT_AT + day,
                SENT_AT - 1,
                SENT_AT + 8 * day,
                SENT_AT + 7 * day,
                SENT_AT + day,
                SENT_AT + day,
                SENT_AT + day,
            ],
            "EVENT_TYPE": "purchase",
            "EVENT_VALUE": [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0],
        }
    )
    lift = campaign_lift(ledger, interactions, recommended, SENT_AT, 7).set_index("measure")
    counts = ["mailed_customers", "mailed_converters", "holdout_customers", "holdout_converters"]
    # F1, whose send failed, is mailed all the same (intent to treat): not recommended P1, it converts on any product
    assert lift.loc["recommended product", counts].tolist() == [4, 1, 2, 1]
    assert lift.loc["any product", counts].tolist() == [4, 3, 2, 1]


def test_the_interval_of_the_difference_is_newcombes_hybrid_score():
    """Newcombe (1998), Statistics in Medicine 17:873, table II: 56/70 against 48/80, method 10."""
    ledger = pd.DataFrame(
        {
            "user_id": [f"M{n}" for n in range(70)] + [f"H{n}" for n in range(80)],
            "status": ["sent"] * 70 + ["holdout"] * 80,
        }
    )
    converters = [f"M{n}" for n in range(56)] + [f"H{n}" for n in range(48)]
    interactions = _events(np.array(converters, dtype=object), "P1", np.ones(len(converters)))
    lift = campaign_lift(ledger, interactions, pd.DataFrame({"USER_ID": [], "ITEM_ID": []}), SENT_AT, 7)
    any_product = lift.set_index("measure").loc["any product"]
    assert any_product[["lift_low", "lift_high"]].tolist() == pytest.approx([0.0524, 0.3339], abs=5e-5)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-5)


def test_without_a_holdout_the_campaign_is_not_measurable():
    ledger = pd.DataFrame({"user_id": ["M1"], "status": ["sent"]})
    lift = campaign_lift(
        ledger,
        _events(np.array(["M1"], dtype=object), "P1", np.ones(1)),
        pd.DataFrame({"USER_ID": ["M1"], "ITEM_ID": ["P1"]}),
        SENT_AT,
        7,
    )
    assert set(lift["verdict"]) == {"not measurable: no customer was held out"}
    assert lift["holdout_conversion"].isna().all()
