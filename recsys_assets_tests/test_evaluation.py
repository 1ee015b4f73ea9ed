import gzip
import json
import math

import numpy as np
import pandas as pd
import pytest

from recsys_assets.catalog.fields import MAX_ID_CHARS
from recsys_assets.cli import main
from recsys_assets.cli.evaluate import MAX_EVENT_VALUE, read_interactions, read_items
from recsys_assets.ml.als import RecommenderParams
from recsys_assets.ml.evaluation import (
    EvaluationSplit,
    already_reviewed_share,
    evaluate,
    item_count,
    personalize_split,
    served_metrics,
)
from recsys_assets.ml.item_item import TrainedItemItem
from recsys_assets.ml.metrics import METRIC_NAMES, offline_metrics


def ranked(lists: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(user, rank, item) for user, items in lists.items() for rank, item in enumerate(items, start=1)],
        columns=["USER_ID", "RANK", "ITEM_ID"],
    )


def relevant(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["USER_ID", "ITEM_ID"])


def history(counts: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """`counts[user]` reviews per user, shuffled rows, distinct timestamps per user."""
    rng = np.random.default_rng(seed)
    users = np.repeat(list(counts), list(counts.values()))
    frame = pd.DataFrame(
        {
            "USER_ID": pd.Series(users, dtype="str"),
            "ITEM_ID": pd.Series([f"i{n}" for n in rng.integers(0, 30, len(users))], dtype="str"),
            "TIMESTAMP": rng.permutation(len(users)).astype(np.int64),
            "EVENT_TYPE": "review",
            "EVENT_VALUE": rng.choice([0.0, 1.0], len(users), p=[0.2, 0.8]),
        }
    )
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


def test_single_truth_item_at_rank_two():
    metrics = offline_metrics(ranked({"u": ["a", "b", "c"]}), relevant([("u", "b")]), n_items=10)
    assert metrics["mean_reciprocal_rank_at_25"] == 0.5
    assert metrics["normalized_discounted_cumulative_gain_at_5"] == pytest.approx(1 / math.log2(3))
    assert metrics["normalized_discounted_cumulative_gain_at_25"] == pytest.approx(1 / math.log2(3))
    assert metrics["precision_at_5"] == pytest.approx(1 / 5)
    assert metrics["precision_at_10"] == pytest.approx(1 / 10)
    assert metrics["precision_at_25"] == pytest.approx(1 / 25)
    assert metrics["coverage"] == pytest.approx(3 / 10)
    assert list(metrics) == list(METRIC_NAMES)


def test_ndcg_ideal_gain_is_for_the_truth_count_capped_at_k():
    lists = {"u": ["a", "x", "b"] + [f"y{n}" for n in range(22)]}
    truth = relevant([("u", "a"), ("u", "b"), ("u", "c")])
    metrics = offline_metrics(ranked(lists), truth, n_items=100)
    ideal_three = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics["normalized_discounted_cumulative_gain_at_5"] == pytest.approx((1 + 1 / math.log2(4)) / ideal_three)
    assert metrics["precision_at_5"] == pytest.approx(2 / 5)
    assert metrics["mean_reciprocal_rank_at_25"] == 1.0


def test_hit_beyond_the_cutoff_does_not_count():
    lists = {"u": [f"y{n}" for n in range(5)] + ["a"]}
    metrics = offline_metrics(ranked(lists), relevant([("u", "a")]), n_items=100)
    assert metrics["normalized_discounted_cumulative_gain_at_5"] == 0.0
    assert metrics["precision_at_5"] == 0.0
    assert metrics["normalized_discounted_cumulative_gain_at_10"] == pytest.approx(1 / math.log2(7))
    assert metrics["mean_reciprocal_rank_at_25"] == pytest.approx(1 / 6)


def test_means_are_over_truth_users_and_a_user_without_recommendations_scores_zero():
    lists = {"hit": ["a"], "outsider": ["z"]}
    truth = relevant([("hit", "a"), ("missing", "b")])
    metrics = offline_metrics(ranked(lists), truth, n_items=4)
    assert metrics["mean_reciprocal_rank_at_25"] == 0.5
    assert metrics["precision_at_5"] == pytest.approx(0.1)
    assert metrics["coverage"] == 0.5


def test_coverage_counts_distinct_items_within_the_top_25_only():
    lists = {"u": [f"i{n}" for n in range(26)], "v": ["i0", "i1"]}
    metrics = offline_metrics(ranked(lists), relevant([("u", "i0")]), n_items=50)
    assert metrics["coverage"] == pytest.approx(25 / 50)


def test_no_relevant_truth_gives_nan_metrics_coverage_included():
    metrics = offline_metrics(ranked({"u": ["a"]}), relevant([]), n_items=5)
    assert all(math.isnan(metrics[name]) for name in METRIC_NAMES)


def test_coverage_counts_items_that_only_the_test_users_interactions_hold():
    split = EvaluationSplit(
        train=pd.DataFrame({"USER_ID": ["a"], "ITEM_ID": ["i1"]}),
        test_input=pd.DataFrame({"USER_ID": ["t", "t"], "ITEM_ID": ["i2", "only-in-input"]}),
        test_truth=pd.DataFrame({"USER_ID": ["t", "t"], "ITEM_ID": ["i2", "only-in-truth"]}),
    )
    assert item_count(split, np.array(["i1", "i2", "catalog-only"])) == 5


def test_split_keeps_test_users_out_of_train_and_picks_them_among_multi_review_users():
    interactions = history({f"u{n}": 1 + n % 4 for n in range(40)})
    split = personalize_split(interactions, seed=3)
    test_users = set(split.test_truth["USER_ID"])
    assert len(test_users) == 4
    assert not test_users & set(split.train["USER_ID"])
    assert set(split.test_input["USER_ID"]) == test_users
    assert interactions[interactions["USER_ID"].isin(test_users)].groupby("USER_ID").size().min() >= 2
    assert len(split.train) + len(split.test_input) + len(split.test_truth) == len(interactions)


def test_truth_holds_each_test_users_newest_tenth_and_at_least_one():
    interactions = history({"many": 25, "few": 3, "single": 1}, seed=1)
    split = personalize_split(interactions, test_user_fraction=1.0)
    assert split.test_truth.groupby("USER_ID").size().to_dict() == {"few": 1, "many": 2}
    for user in ("few", "many"):
        newest_input = split.test_input.loc[split.test_input["USER_ID"] == user, "TIMESTAMP"].max()
        assert split.test_truth.loc[split.test_truth["USER_ID"] == user, "TIMESTAMP"].min() > newest_input


def test_truth_among_equal_timestamps_depends_on_neither_row_order_nor_column_layout():
    interactions = history({f"u{n}": 6 for n in range(20)}, seed=4)
    interactions["TIMESTAMP"] //= 40  # many ties inside each user's history
    split = personalize_split(interactions, test_user_fraction=1.0, holdout_fraction=0.5)
    reordered = personalize_split(interactions.iloc[::-1], test_user_fraction=1.0, holdout_fraction=0.5)
    pd.testing.assert_frame_equal(split.test_truth.sort_index(), reordered.test_truth.sort_index())
    relaid = interactions[["EVENT_VALUE", "TIMESTAMP", "ITEM_ID", "USER_ID"]].astype(
        {"TIMESTAMP": "float64"}
    )  # other layout
    relaid = personalize_split(relaid.assign(SOURCE="export"), test_user_fraction=1.0, holdout_fraction=0.5)
    assert sorted(relaid.test_truth.index) == sorted(split.test_truth.index)
    newest_input = split.test_input.groupby("USER_ID")["TIMESTAMP"].max()
    assert (split.test_truth.groupby("USER_ID")["TIMESTAMP"].min() >= newest_input).all()


@pytest.mark.parametrize(("users", "test_users"), [(1, 1), (5, 1), (15, 2), (25, 3), (35, 4), (45, 5), (400, 40)])
def test_a_tenth_of_the_users_rounded_half_up_and_at_least_one_are_test_users(users, test_users):
    split = personalize_split(history({f"u{n}": 3 for n in range(users)}))
    assert split.test_truth["USER_ID"].nunique() == test_users


def test_a_row_recorded_twice_is_one_event_never_both_input_and_truth():
    interactions = history({f"u{n}": 4 for n in range(10)}, seed=2)
    doubled = pd.concat([interactions, interactions]).sort_index(kind="stable")
    split = personalize_split(doubled, test_user_fraction=1.0)
    both = split.test_truth.merge(split.test_input, on=list(interactions.columns))
    assert both.empty
    assert len(split.test_truth) + len(split.test_input) == len(interactions)
    expected = personalize_split(interactions, test_user_fraction=1.0)
    pd.testing.assert_frame_equal(split.test_truth.sort_index(), expected.test_truth.sort_index())


def test_split_is_deterministic_for_a_seed_and_varies_across_seeds():
    interactions = history({f"u{n}": 3 for n in range(60)})
    first, again = personalize_split(interactions, seed=5), personalize_split(interactions, seed=5)
    pd.testing.assert_frame_equal(first.test_truth, again.test_truth)
    other = personalize_split(interactions, seed=6)
    assert set(first.test_truth["USER_ID"]) != set(other.test_truth["USER_ID"])


def test_evaluate_reports_every_metric_for_the_model_and_the_popularity_baseline():
    interactions = history({f"u{n}": 6 for n in range(50)})
    items = pd.DataFrame({"ITEM_ID": [f"i{n}" for n in range(30)], "CATEGORY": ["c"] * 30})
    results = evaluate(interactions, items, RecommenderParams(factors=4, iterations=3))
    assert set(results) == {"model", "popularity-count", "popularity-unseen"}
    for metrics in results.values():
        assert list(metrics) == list(METRIC_NAMES)
        assert all(0.0 <= value <= 1.0 for value in metrics.values())


def test_evaluate_trains_on_the_training_users_and_recommends_from_the_test_input():
    interactions = history({f"u{n}": 6 for n in range(50)})
    items = pd.DataFrame({"ITEM_ID": [f"i{n}" for n in range(30)], "CATEGORY": ["c"] * 30})
    trained_on, asked_with = [], []

    def train(rows, items):
        trained_on.append(rows)
        return TrainedItemItem.train(rows, items)

    def recommend_with(model, rows, users, k):
        asked_with.append(rows)
        return model.recommend(rows, users, k)

    evaluate(interactions, items, train=train, recommend_with=recommend_with)
    split = personalize_split(interactions)
    pd.testing.assert_frame_equal(trained_on[0], split.train)
    pd.testing.assert_frame_equal(asked_with[0], split.test_input)


def test_evaluate_with_als_folds_the_held_out_users_in_rather_than_falling_back():
    interactions = history({f"u{n}": 6 for n in range(50)})
    items = pd.DataFrame({"ITEM_ID": [f"i{n}" for n in range(30)], "CATEGORY": ["c"] * 30})
    served = []

    def recommend_with(model, rows, users, k):
        served.append(model.recommend(rows, users, k))
        return served[-1]

    evaluate(interactions, items, RecommenderParams(factors=4, iterations=3), recommend_with=recommend_with)
    assert (served[0].groupby("USER_ID")["SOURCE"].first() == "als").all()


def test_evaluate_counts_only_positively_reviewed_truth_items_as_relevant():
    interactions = history({f"u{n}": 6 for n in range(50)})
    interactions["EVENT_VALUE"] = 0.0
    items = pd.DataFrame({"ITEM_ID": [f"i{n}" for n in range(30)], "CATEGORY": ["c"] * 30})
    results = evaluate(interactions, items, RecommenderParams(factors=4, iterations=3))
    assert math.isnan(results["model"]["normalized_discounted_cumulative_gain_at_10"])


def test_already_reviewed_share_counts_relevant_truth_the_user_had_reviewed_before():
    def frame(rows):
        return pd.DataFrame(rows, columns=["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_VALUE"])

    split = EvaluationSplit(
        train=frame([("t", "a", 1, 1.0)]),
        test_input=frame([("u", "a", 1, 1.0), ("v", "b", 1, 1.0)]),
        test_truth=frame([("u", "a", 2, 1.0), ("u", "c", 3, 1.0), ("v", "b", 2, 0.0), ("v", "d", 3, 1.0)]),
    )
    assert already_reviewed_share(split) == 1 / 3  # (u, a) of the relevant (u, a), (u, c), (v, d); (v, b) panned it


def test_malformed_interaction_rows_are_quarantined_with_line_column_and_reason(tmp_path):
    path = tmp_path / "interactions.csv"
    path.write_text(
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_VALUE\n"
        "u1,i1,100,0.5\n"
        "u1,i2,yesterday,1\n"
        "u2,i1,200,\n"
        "u3,,300,1\n"
        "u4,i3,1.5,1\n"
        "u5,i4,400,lots\n"
    )
    read = read_interactions(str(path))
    assert read.rows.to_dict("records") == [
        {"USER_ID": "u1", "ITEM_ID": "i1", "TIMESTAMP": 100, "EVENT_VALUE": 0.5},
        {"USER_ID": "u2", "ITEM_ID": "i1", "TIMESTAMP": 200, "EVENT_VALUE": 1.0},  # no value: counts as positive
    ]
    assert read.rows["TIMESTAMP"].dtype == np.int64 and read.rows["EVENT_VALUE"].dtype == np.float64
    assert read.rejected[["source_line", "column", "reason"]].values.tolist() == [
        [3, "TIMESTAMP", "TIMESTAMP is not whole epoch seconds"],
        [5, "ITEM_ID", "ITEM_ID is empty"],
        [6, "TIMESTAMP", "TIMESTAMP is not whole epoch seconds"],
        [7, "EVENT_VALUE", "EVENT_VALUE is not a number from -1,000,000 to 1,000,000"],
    ]
    assert set(read.rejected["source_file"]) == {str(path)}
    assert '"TIMESTAMP": "yesterday"' in read.rejected["raw_row"].iloc[0]


def test_out_of_range_timestamps_and_infinite_values_are_quarantined_not_cast(tmp_path):
    path = tmp_path / "interactions.csv"
    path.write_text(
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_VALUE\nu,i,inf,1\nu,j,1e30,1\nu,k,99999999999999999999,1\n"
        "u,l,7,inf\nu,m, 1e3 ,nan\nu,n,8,1\n"
    )
    read = read_interactions(str(path))
    assert read.rows[["ITEM_ID", "TIMESTAMP"]].values.tolist() == [["n", 8]]
    assert read.rejected[["source_line", "column"]].values.tolist() == [
        [2, "TIMESTAMP"],
        [3, "TIMESTAMP"],
        [4, "TIMESTAMP"],
        [5, "EVENT_VALUE"],
        [6, "EVENT_VALUE"],
    ]


def test_absurd_event_values_and_ids_longer_than_personalize_takes_are_quarantined(tmp_path):
    path = tmp_path / "interactions.csv"
    long_id = "u" * (MAX_ID_CHARS + 1)
    path.write_text(
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_VALUE\n"
        f"u,i,1,1e30\nu,j,2,-1e7\n{long_id},k,3,1\nu,{long_id},4,1\nu,l,5,1e6\n{'v' * MAX_ID_CHARS},m,6,1\n"
    )
    read = read_interactions(str(path))
    assert read.rows["ITEM_ID"].tolist() == ["l", "m"]
    assert read.rejected[["source_line", "column", "reason"]].values.tolist() == [
        [2, "EVENT_VALUE", "EVENT_VALUE is not a number from -1,000,000 to 1,000,000"],
        [3, "EVENT_VALUE", "EVENT_VALUE is not a number from -1,000,000 to 1,000,000"],
        [4, "USER_ID", "USER_ID is longer than 256 characters"],
        [5, "ITEM_ID", "ITEM_ID is longer than 256 characters"],
    ]


def test_evaluate_leaves_out_an_event_value_of_1e30_and_fits_every_model_on_values_at_the_bound(tmp_path, capsys):
    rng = np.random.default_rng(0)
    pairs = zip(rng.integers(0, 60, 600), rng.integers(0, 40, 600))
    rows = [f"u{u},i{i},{t},{MAX_EVENT_VALUE * (-1) ** t:g}" for t, (u, i) in enumerate(pairs)]
    path = tmp_path / "interactions.csv"
    path.write_text("USER_ID,ITEM_ID,TIMESTAMP,EVENT_VALUE\nu0,i0,1,1e30\n" + "\n".join(rows) + "\n")
    assert main(["evaluate", "--interactions", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["protocol"]["quarantined_rows"] == 1
    assert "line 2, EVENT_VALUE: EVENT_VALUE is not a number from -1,000,000 to 1,000,000" in err


def test_quarantine_lines_are_file_lines_across_quoted_newlines_blank_lines_and_short_rows(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text('ITEM_ID,DESCRIPTION\ni1,"two\nlines"\n\n,bad\ni2\ni3,"ok"\n')
    read = read_items(str(path))
    assert read.rows["ITEM_ID"].tolist() == ["i1", "i3"] and read.rows["DESCRIPTION"].tolist() == ["two\nlines", "ok"]
    assert read.rejected[["source_line", "column", "reason"]].values.tolist() == [
        [5, "ITEM_ID", "ITEM_ID is empty"],
        [6, "", "expected 2 fields, found 1"],
    ]


def test_a_file_without_a_valid_row_or_a_required_column_is_an_error_naming_it(tmp_path):
    path = tmp_path / "interactions.csv"
    path.write_text("USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,soon\n")
    with pytest.raises(
        ValueError, match=rf"{path}: no valid row; line 2, TIMESTAMP: TIMESTAMP is not whole epoch seconds"
    ):
        read_interactions(str(path))
    path.write_text("USER_ID,TIMESTAMP\nu1,1\n")
    with pytest.raises(ValueError, match=rf"{path}: required columns missing: ITEM_ID"):
        read_interactions(str(path))


def test_items_without_an_id_are_quarantined(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("ITEM_ID,CATEGORY\ni1,Home\n,Toys\n")
    read = read_items(str(path))
    assert read.rows.to_dict("records") == [{"ITEM_ID": "i1", "CATEGORY": "Home"}]
    assert read.rejected[["source_line", "column"]].values.tolist() == [[3, "ITEM_ID"]]


def test_served_metrics_score_the_models_top_n_and_the_curated_candidates_on_one_split():
    interactions = history({f"u{n}": 6 for n in range(50)})
    items = pd.DataFrame({"ITEM_ID": [f"i{n}" for n in range(30)], "CATEGORY": ["c"] * 30})
    asked = []

    def only_the_last_candidates(table, split):
        asked.append(table.groupby("USER_ID").size().max())
        return table[table["RANK"] > 10].assign(RANK=lambda t: t["RANK"] - 10)

    def no_truth(split):
        return split.test_truth.iloc[0:0]

    results = served_metrics(
        interactions,
        items,
        {"served": only_the_last_candidates},
        3,
        12,
        train=TrainedItemItem.train,
        reachable=no_truth,
    )
    split = personalize_split(interactions)
    model = TrainedItemItem.train(split.train, items)
    top = model.recommend(split.test_input, split.test_truth["USER_ID"].unique(), 3)
    truth = split.test_truth[split.test_truth["EVENT_VALUE"] > 0]
    assert asked == [12]
    assert results["model"] == offline_metrics(top, truth, item_count(split, model.item_ids))
    assert results["served"]["coverage"] < results["model"]["coverage"]  # ranks 11-12: two per user
    assert all(math.isnan(value) for value in results["served, reachable"].values())


def order_lines(customers: int = 60, orders: int = 6, seed: int = 0) -> str:
    """An order-lines export: each customer's orders of 3 lines from one of 4 families of 10 products, a postage
    line per order and a cancelled line per customer."""
    rng = np.random.default_rng(seed)
    lines = ["InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"]
    start = pd.Timestamp("2011-01-01")
    for customer in range(customers):
        family = customer % 4
        for order in range(orders):
            invoice, when = f"{customer * 100 + order}", start + pd.Timedelta(days=order * 7 + customer % 5)
            for code in rng.choice(10, 3, replace=False):
                lines.append(
                    f"{invoice},{family}{code:04d},THING {family}{code},2,{when:%Y-%m-%d %H:%M},1.50,{customer},UK"
                )
            lines.append(f"{invoice},POST,POSTAGE,1,{when:%Y-%m-%d %H:%M},18.00,{customer},UK")
        lines.append(f"C{customer},{family}0000,THING,-9,{start:%Y-%m-%d %H:%M},1.50,{customer},UK")
    return "\n".join(lines) + "\n"


def test_evaluate_reads_an_order_lines_file_gzip_or_not_and_quarantines_what_is_no_product(tmp_path, capsys):
    plain, packed = tmp_path / "orders.csv", tmp_path / "orders.csv.gz"
    plain.write_text(order_lines())
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    reports = []
    for path in (plain, packed):
        assert main(["evaluate", "--input", str(path), "--format", "order-lines", "--json"]) == 0
        out, err = capsys.readouterr()
        reports.append(json.loads(out))
        assert "recsys evaluate: 360 rows quarantined" in err
        assert f"{path} line 5, StockCode: stock code POST is postage, not a product" in err
    assert reports[0]["models"] == reports[1]["models"]
    protocol = reports[0]["protocol"]
    assert (protocol["users"], protocol["quarantined_rows"]) == (60, 360)
    models = reports[0]["models"]
    ndcg = {name: metrics["normalized_discounted_cumulative_gain_at_10"] for name, metrics in models.items()}
    assert ndcg["item-item"] > ndcg["popularity-count"]


def test_evaluate_input_without_customer_events_is_an_error_naming_the_file(tmp_path, capsys):
    path = tmp_path / "orders.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "1,A1,THING,1,2011-01-01 10:00,1.0,,UK\n"
    )
    assert main(["evaluate", "--input", str(path), "--format", "order-lines"]) == 2
    assert f"recsys evaluate failed: {path}: no customer's event to evaluate" in capsys.readouterr().err
