"""The holdout draw: deterministic per campaign and customer, about the share asked for."""

import numpy as np
import pandas as pd
import pytest

from recsys_assets.delivery.holdout import in_holdout

CAMPAIGN = "2026-12-weekly"
IDS = pd.Series([f"C{n:06d}" for n in range(100_000)])


def test_about_the_share_of_100k_customers_is_held_out():
    held = in_holdout(CAMPAIGN, IDS, 0.1)
    tolerance = 4 * np.sqrt(0.1 * 0.9 / len(IDS))  # four standard errors
    assert abs(held.mean() - 0.1) < tolerance
    assert held.index.equals(IDS.index) and held.dtype == bool


def test_a_customers_draw_depends_on_neither_the_order_nor_the_other_customers():
    held = in_holdout(CAMPAIGN, IDS, 0.1)
    shuffled = IDS.sample(frac=1.0, random_state=7)
    assert in_holdout(CAMPAIGN, shuffled, 0.1).sort_index().equals(held)
    some = IDS.iloc[5_000:5_100]
    assert in_holdout(CAMPAIGN, some, 0.1).equals(held.iloc[5_000:5_100])
    assert in_holdout(CAMPAIGN, IDS, 0.1).equals(held)


def test_the_draw_is_the_same_on_every_machine_and_pandas_version():
    """Pinned values: a change of the hash would move customers between holdout and mailed mid-campaign."""
    assert in_holdout(CAMPAIGN, IDS.head(5), 0.5).tolist() == [True, True, True, False, False]


def test_each_campaign_draws_its_own_holdout():
    first, second = in_holdout(CAMPAIGN, IDS, 0.1), in_holdout("2027-01-weekly", IDS, 0.1)
    assert abs((first & second).mean() - 0.01) < 4 * np.sqrt(0.01 * 0.99 / len(IDS))


def test_a_larger_share_holds_out_everyone_a_smaller_one_did():
    small, large = in_holdout(CAMPAIGN, IDS, 0.05), in_holdout(CAMPAIGN, IDS, 0.2)
    assert (large | ~small).all()
    assert not in_holdout(CAMPAIGN, IDS, 0.0).any() and in_holdout(CAMPAIGN, IDS, 1.0).all()


def test_a_share_outside_0_to_1_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1, got 10"):
        in_holdout(CAMPAIGN, IDS, 10)
