from typing import get_args

import pandas as pd
import pytest

from recsys_assets.cli.run import run_pipeline
from recsys_assets.defs.marketing.assets import SEGMENT_NAMES, customer_segments
from recsys_assets.environment import RunOptions, SettingsError
from recsys_assets.formats.tables import EVENT_COLUMNS, empty_table
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.sample.generator import generate_catalog, write_catalog
from recsys_assets.schemas import CustomerSegments
from recsys_assets.segmentation import (
    DISTINCT_DAYS,
    DISTINCT_ORDERS,
    INTERACTION_COUNT,
    KEPT_CHARS,
    MAX_SEGMENT_CHARS,
    NET_REVENUE,
    RFM_TIERS,
    SEGMENT_RULES,
    TIER_ORDER,
    assign_segments,
    customer_activity,
    quintile_scores,
    rfm_tier_summary,
    rfm_tiers,
    segment_slug,
)

DAY = 86_400
T0 = 1_600_000_000
NO_INTERACTIONS = pd.DataFrame({"USER_ID": pd.Series(dtype="string"), "TIMESTAMP": pd.Series(dtype="int64")})


def users_of(*ids: str, **columns) -> pd.DataFrame:
    return pd.DataFrame({"user_id": list(ids), **columns})


def events(*rows: tuple) -> pd.DataFrame:
    """Events from (user, day, event_type, quantity, revenue, order_id) rows."""
    table = pd.DataFrame(rows, columns=["user_id", "day", "event_type", "quantity", "revenue", "order_id"])
    table = table.assign(
        product_id="P1",
        timestamp=T0 + table["day"] * DAY,
        event_value=float("nan"),
        source_file="orders.csv",
        source_line=range(2, len(table) + 2),
    )
    return pd.concat([empty_table(EVENT_COLUMNS), table[list(EVENT_COLUMNS)]], ignore_index=True)


def test_segment_names_are_slugs_of_the_category():
    names = pd.Series(["Home&Kitchen", "Computers&Accessories", "HomeImprovement", "Toys&Games", None])
    assert segment_slug(names).tolist() == [
        "home-kitchen",
        "computers-accessories",
        "home-improvement",
        "toys-games",
        "",
    ]


def test_customers_with_little_history_are_in_the_general_segment():
    users = users_of("U3", "U1", "U2", interaction_count=[5, 1, 2], favourite_category=["Electronics"] * 2 + [""])
    assert assign_segments(users, min_interactions=2).values.tolist() == [
        ["U1", "general"],
        ["U2", "general"],
        ["U3", "electronics"],
    ]
    assert assign_segments(users, min_interactions=1)["segment"].tolist() == ["electronics", "general", "electronics"]


def test_a_long_category_gets_a_bounded_slug_ending_in_a_digest_and_distinct_slugs_stay_distinct():
    names = pd.Series(["C" * 300 + "|Leaf", "C" * 300 + "D", "c" * KEPT_CHARS, "c" * (KEPT_CHARS + 1), "Toys"])
    slugs = segment_slug(names)
    assert slugs.str.len().tolist() == [MAX_SEGMENT_CHARS] * 2 + [KEPT_CHARS, MAX_SEGMENT_CHARS, 4]
    assert slugs[0].startswith("c" * KEPT_CHARS + "-") and slugs.is_unique
    users = users_of("U1", "U2", interaction_count=[3, 3], favourite_category=names[:2])
    CustomerSegments.validate(assign_segments(users))


def test_the_country_rule_puts_each_customer_in_their_countrys_segment_and_those_without_one_in_general():
    users = users_of("U1", "U2", "U3", "U4", country=["United Kingdom", "EIRE", "", None])
    table = assign_segments(users, "country")
    assert table["segment"].tolist() == ["united-kingdom", "eire", "general", "general"]
    CustomerSegments.validate(table)


def test_quintile_scores_give_each_fifth_of_the_customers_a_score_and_equal_values_one_score():
    assert quintile_scores(pd.Series([50, 10, 40, 20, 30])).tolist() == [5, 1, 4, 2, 3]
    assert quintile_scores(pd.Series(range(10))).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_scores(pd.Series([1, 1, 1, 2, 3])).tolist() == [1, 1, 1, 4, 5]


def test_the_tier_grid_names_every_score_pair_and_reads_r_against_the_mean_of_f_and_m_rounded_up():
    assert RFM_TIERS.shape == (5, 5) and set(RFM_TIERS.ravel()) == set(TIER_ORDER) - {"general"}
    r, f, m = (pd.Series(values) for values in ([5, 1, 5, 1, 4, 3, 3], [5, 1, 1, 5, 4, 2, 2], [5, 1, 1, 5, 5, 3, 2]))
    assert rfm_tiers(r, f, m).tolist() == [
        "champions",
        "hibernating",
        "new",
        "cannot-lose",
        "loyal",  # FM (4 + 5) / 2 -> 5
        "need-attention",  # FM (2 + 3) / 2 -> 3
        "about-to-sleep",  # FM 2
    ]


# Five customers whose R, F and M ranks are known: (R, F, M) = U1 (5, 1, 1), U2 (4, 5, 5), U3 (3, 3, 3),
# U4 (2, 4, 4), U5 (1, 2, 2); U6 bought nothing; the newest event (day 100) is an anonymous purchase.
SHOP = events(
    ("U1", 90, "purchase", 1, 5.0, "O1"),
    *[("U2", 70 + k, "purchase", 1, 100.0, f"O2{k}") for k in range(5)],
    ("U2", 85, "cancellation", -1, -50.0, "C21"),  # nets the revenue, is no order and no visit
    ("U3", 50, "purchase", 2, 50.0, "O30"),
    ("U3", 50, "purchase", 1, 50.0, "O30"),  # a second line of the same order
    ("U3", 55, "purchase", 1, 100.0, "O31"),
    ("U3", 60, "purchase", 1, 100.0, "O32"),
    *[("U4", 37 + k, "purchase", 1, 100.0, f"O4{k}") for k in range(4)],
    ("U5", 10, "purchase", 1, 100.0, "O50"),
    ("U5", 20, "purchase", 1, 100.0, "O51"),
    ("U5", 95, "view", 0, 0.0, ""),  # not a purchase
    ("U6", 99, "view", 0, 0.0, ""),
    ("", 100, "purchase", 1, 9.0, "O99"),
)
SHOPPERS = users_of("U1", "U2", "U3", "U4", "U5", "U6")


def test_rfm_scores_recency_to_the_newest_event_distinct_orders_and_net_revenue_by_quintile():
    activity = customer_activity(NO_INTERACTIONS, SHOP)
    assert (activity.as_of, activity.frequency, activity.monetary) == (T0 + 100 * DAY, DISTINCT_ORDERS, NET_REVENUE)
    table = assign_segments(SHOPPERS, "rfm", activity).set_index("user_id")
    assert table["recency_days"].tolist()[:5] == [10, 26, 40, 60, 80]
    assert table["frequency"].tolist()[:5] == [1, 5, 3, 4, 2]
    assert table["monetary"].tolist()[:5] == [5.0, 450.0, 300.0, 400.0, 200.0]
    assert table[["r_score", "f_score", "m_score"]].values.tolist()[:5] == [
        [5, 1, 1],
        [4, 5, 5],
        [3, 3, 3],
        [2, 4, 4],
        [1, 2, 2],
    ]
    assert table["segment"].tolist() == ["new", "loyal", "need-attention", "at-risk", "hibernating", "general"]
    assert table.loc["U6", ["r_score", "f_score", "m_score"]].isna().all()
    CustomerSegments.validate(table.reset_index())


def test_rfm_without_orders_or_prices_counts_distinct_days_and_interactions():
    interactions = pd.DataFrame(
        {
            "USER_ID": ["U1", "U1", "U1", "U2"],
            "TIMESTAMP": [T0, T0 + 60, T0 + 3 * DAY, T0 + 10 * DAY],
        }
    )
    activity = customer_activity(interactions)
    assert (activity.as_of, activity.frequency, activity.monetary) == (T0 + 10 * DAY, DISTINCT_DAYS, INTERACTION_COUNT)
    table = assign_segments(users_of("U1", "U2"), "rfm", activity)
    assert table[["recency_days", "frequency", "monetary"]].values.tolist() == [[7, 2, 3.0], [0, 1, 1.0]]
    undated = events(("U1", 1, "purchase", 1, 0.0, ""), ("U1", 2, "purchase", 1, 0.0, ""), ("U2", 2, "view", 1, 0, ""))
    from_events = customer_activity(NO_INTERACTIONS, undated)
    assert (from_events.frequency, from_events.monetary) == (DISTINCT_DAYS, INTERACTION_COUNT)
    assert assign_segments(users_of("U1", "U2"), "rfm", from_events)["frequency"].tolist() == [2, pd.NA]


def test_a_purchase_without_an_order_id_counts_as_an_order_of_its_day():
    mixed = events(
        ("U1", 1, "purchase", 1, 10.0, "O1"),
        ("U1", 1, "purchase", 1, 10.0, "O1"),
        ("U1", 2, "purchase", 1, 10.0, ""),
        ("U1", 2, "purchase", 1, 10.0, ""),
    )
    assert assign_segments(users_of("U1"), "rfm", customer_activity(NO_INTERACTIONS, mixed))["frequency"].tolist() == [
        2
    ]


def test_the_tier_summary_gives_each_tiers_size_and_mean_recency_frequency_and_monetary_value_in_tier_order():
    table = assign_segments(SHOPPERS, "rfm", customer_activity(NO_INTERACTIONS, SHOP))
    summary = rfm_tier_summary(table)
    assert summary["segment"].tolist() == ["loyal", "new", "need-attention", "at-risk", "hibernating", "general"]
    assert summary.set_index("segment").loc["loyal"].tolist() == [1, 26.0, 5.0, 450.0]


def test_the_segment_rule_is_a_setting_from_recsys_segments(monkeypatch):
    assert get_args(PipelineSettings.model_fields["segment_rule"].annotation) == SEGMENT_RULES
    monkeypatch.setenv("RECSYS_SEGMENTS", "RFM")
    assert RunOptions.from_environment().segment_rule == "rfm"
    monkeypatch.setenv("RECSYS_SEGMENTS", "age")
    with pytest.raises(SettingsError, match="RECSYS_SEGMENTS='age'"):
        RunOptions.from_environment()
    with pytest.raises(ValueError, match="unknown segment rule 'age'"):
        assign_segments(SHOPPERS, "age")


def test_the_customer_segments_asset_segments_by_the_setting_and_shows_each_tiers_means():
    interactions = pd.DataFrame({"USER_ID": ["U1", "U1", "U2"], "TIMESTAMP": [T0, T0 + 2 * DAY, T0 + DAY]})
    users = users_of("U1", "U2", interaction_count=[2, 1], favourite_category=["Toys", "Toys"], country=["FR", ""])
    by_rule = {
        rule: customer_segments(
            users=users,
            interactions=interactions,
            events=empty_table(EVENT_COLUMNS),
            settings=PipelineSettings(segment_rule=rule),
        )
        for rule in SEGMENT_RULES
    }
    assert {rule: result.value["segment"].tolist() for rule, result in by_rule.items()} == {
        "category": ["toys", "general"],
        "country": ["fr", "general"],
        "rfm": ["need-attention", "hibernating"],
    }
    rfm = by_rule["rfm"].metadata
    assert rfm[SEGMENT_NAMES].data == ["hibernating", "need-attention"]
    assert (rfm["rfm_frequency"], rfm["rfm_monetary"]) == (DISTINCT_DAYS, INTERACTION_COUNT)
    assert "| need-attention | 1 | 0.0 | 2.0 | 2.0 |" in rfm["rfm_tiers"].value
    assert "rfm_tiers" not in by_rule["country"].metadata


def test_a_run_with_rfm_segments_serves_each_tier_as_a_segment(tmp_path):
    catalog = tmp_path / "catalog.csv"
    write_catalog(generate_catalog(n_products=20, n_users=40, n_reviews=150, seed=5, include_timestamps=True), catalog)
    options = RunOptions(home=str(tmp_path / "home"), input_location=str(catalog), num_results=3, segment_rule="rfm")
    summary = run_pipeline(options)
    segments = pd.read_parquet(tmp_path / "home" / "assets" / "customer_segments.parquet")
    assert set(summary["segments"]) == set(segments["segment"]) and set(segments["segment"]) <= set(TIER_ORDER)
    assert len(segments) == 40 and segments["r_score"].between(1, 5).all()
