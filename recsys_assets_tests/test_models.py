import json
import tracemalloc
from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_assets.cli import main
from recsys_assets.ml import neighbours
from recsys_assets.ml.ease import fit_ease
from recsys_assets.ml.encoding import leaf_categories, training_data
from recsys_assets.ml.evaluation import top_k_recommendations
from recsys_assets.ml.metrics import METRIC_NAMES
from recsys_assets.ml.neighbours import (
    fit_content,
    fit_item_knn,
    grouped_cosine_neighbours,
    similar_subgroups,
    tfidf,
)
from recsys_assets.ml.registry import DEFAULT_MODEL, MODELS
from recsys_assets.ml.tuning import HybridSettings, _order_ndcg, simplest_within_one_standard_error, validated_settings


def interactions(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Positive interactions in the order given (TIMESTAMP = row number)."""
    users, items = zip(*pairs)
    return pd.DataFrame(
        {
            "USER_ID": pd.Series(users, dtype="str"),
            "ITEM_ID": pd.Series(items, dtype="str"),
            "TIMESTAMP": np.arange(len(pairs), dtype=np.int64),
            "EVENT_TYPE": "review",
            "EVENT_VALUE": 1.0,
        }
    )


def recommended(fit, data, user: str, k: int = 2) -> list[str]:
    row = np.searchsorted(data.user_ids, [user])
    return top_k_recommendations(fit(data), data, row, k)["ITEM_ID"].tolist()


# Group A (a1-a3) and group B (b1-b3) never share a user; b1 is the most popular item overall.
TWO_GROUPS = interactions(
    [(f"ua{n}", item) for n in range(3) for item in ("a1", "a2", "a3")]
    + [(f"ub{n}", item) for n in range(5) for item in ("b1", "b2", "b3")]
    + [("new", "a1")]
)


@pytest.mark.parametrize("fit", [fit_item_knn, fit_ease], ids=["item-knn", "ease"])
def test_collaborative_models_recommend_within_the_users_group(fit):
    data = training_data(TWO_GROUPS, None)
    assert recommended(fit, data, "new") == ["a2", "a3"]


CATALOG = pd.DataFrame(
    {
        "ITEM_ID": ["kettle", "teapot", "drill", "saw"],
        "CATEGORY": ["Home&Kitchen|Kettles", "Home&Kitchen|Kettles", "Tools|Power", "Tools|Power"],
        "NAME": ["Steel Electric Kettle", "Ceramic Tea Kettle", "Cordless Drill", "Cordless Circular Saw"],
    }
)
# Nobody else reviewed the kettle, so only its metadata can relate it to anything; the saw is most popular.
ONE_REVIEW = interactions([("cook", "kettle"), ("u1", "saw"), ("u2", "saw"), ("u2", "drill")])


@pytest.mark.parametrize("fit", [fit_content, MODELS["item-item"].fit], ids=["content", "item-item"])
def test_one_review_user_gets_the_same_category_item_first(fit):
    data = training_data(ONE_REVIEW, CATALOG)
    assert recommended(fit, data, "cook", k=1) == ["teapot"]


def test_top_k_never_repeats_a_seen_item_and_stops_when_unseen_items_run_out():
    data = training_data(ONE_REVIEW, CATALOG)
    unseen = MODELS["popularity-unseen"]
    assert sorted(recommended(partial(unseen.fit, **unseen.params), data, "u2", k=5)) == ["kettle", "teapot"]


def test_personalize_popularity_count_gives_everyone_the_same_list_reviewed_items_included():
    data = training_data(ONE_REVIEW, CATALOG)
    everyone = [recommended(MODELS["popularity-count"].fit, data, user, k=3) for user in data.user_ids]
    assert all(items == everyone[0] for items in everyone) and "saw" in everyone[0]  # u1 and u2 reviewed it


@pytest.fixture
def interactions_csv(tmp_path):
    """40 users in two taste groups, 6 interactions each, plus 3 rows repeated verbatim."""
    rng = np.random.default_rng(0)
    users = np.repeat([f"u{n}" for n in range(40)], 6)
    group = np.repeat(np.arange(40) % 2, 6)
    table = pd.DataFrame(
        {
            "USER_ID": users,
            "ITEM_ID": [f"g{g}i{n}" for g, n in zip(group, rng.integers(0, 8, len(users)))],
            "TIMESTAMP": np.arange(len(users)),
            "EVENT_VALUE": 1.0,
        }
    )
    pd.concat([table, table.iloc[:3]]).to_csv(tmp_path / "interactions.csv", index=False)
    return tmp_path / "interactions.csv"


def test_models_learn_only_from_training_users_and_score_history_only_users_from_their_history():
    # training users like a with b; three held-out users like z with a, which no training user liked
    pairs = [(f"u{n}", item) for n in range(4) for item in ("a", "b")] + [
        (f"t{n}", item) for n in range(3) for item in ("z", "a")
    ]
    data = training_data(interactions(pairs), None)
    held_out = np.searchsorted(data.user_ids, ["t0", "t1", "t2"])
    evaluated = replace(data, history_only=held_out)
    learning = evaluated.learning_part
    assert learning.matrix[held_out].nnz == 0 and learning.matrix.nnz == 8
    assert learning.popularity[list(data.item_ids).index("z")] == 0
    z = list(data.item_ids).index("z")
    assert MODELS["popularity-count"].fit(data).popularity[z] == 3
    assert MODELS["popularity-count"].fit(evaluated).popularity[z] == 0  # counted over training users only
    rows = held_out[:1]
    for name in ("item-knn", "ease"):
        scores = MODELS[name].fit(evaluated).scores(rows)[0]
        assert (
            scores[list(data.item_ids).index("b")] > 0
        )  # from the held-out history (a), with weights learned without it
        assert scores[z] == 0  # z co-occurs with a only in held-out histories
    als = MODELS["als"].fit(evaluated)
    assert np.any(als.user_factors[held_out] != 0)  # folded in from the history


def test_evaluate_json_has_every_model_and_metric_and_is_repeatable(interactions_csv, capsys):
    outputs = []
    for _ in range(2):
        assert main(["evaluate", "--interactions", str(interactions_csv), "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    report = outputs[0]
    assert outputs[0] == outputs[1]
    assert set(report) == {"default_model", "models", "protocol"}
    assert set(report["models"]) == set(MODELS) and report["default_model"] in MODELS
    assert all(list(metrics) == list(METRIC_NAMES) for metrics in report["models"].values())
    assert report["protocol"]["splits"] == 5 and report["protocol"]["test_users"] == [4] * 5
    assert set(report["protocol"]["std"]) == set(MODELS)
    per_split = report["protocol"]["ndcg_at_10_per_split"]
    for name, metrics in report["models"].items():  # the mean is the mean of the splits' figures
        assert len(per_split[name]) == 5
        assert np.mean(per_split[name]) == pytest.approx(
            metrics["normalized_discounted_cumulative_gain_at_10"], abs=1e-5
        )
    assert len(report["protocol"]["relevant_already_reviewed"]) == 5
    assert all(0 <= share <= 1 for share in report["protocol"]["relevant_already_reviewed"])
    assert report["protocol"]["duplicate_interactions"] == 3 and report["protocol"]["interactions"] == 243


def test_evaluate_leaves_out_malformed_rows_says_which_and_writes_them_all(interactions_csv, tmp_path, capsys):
    with interactions_csv.open("a") as csv:
        csv.write("u1,g0i1,not-a-time,1.0\nu2,,5,1.0\nu3,g0i1\n")
    quarantine = tmp_path / "quarantine.csv"
    assert main(["evaluate", "--interactions", str(interactions_csv), "--json", "--quarantine", str(quarantine)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["protocol"]["quarantined_rows"] == 3
    assert (
        "3 rows quarantined" in err and f"{interactions_csv} line 245, TIMESTAMP" in err and "line 246, ITEM_ID" in err
    )
    assert f"{interactions_csv} line 247: " in err  # a short row: no one column is at fault
    written = pd.read_csv(quarantine)
    assert written[["source_line", "column"]].fillna("").values.tolist() == [
        [245, "TIMESTAMP"],
        [246, "ITEM_ID"],
        [247, ""],
    ]


def test_evaluate_with_an_unwritable_quarantine_path_exits_2_naming_it(interactions_csv, tmp_path, capsys):
    target = tmp_path / "missing-folder" / "quarantine.csv"
    assert main(["evaluate", "--interactions", str(interactions_csv), "--quarantine", str(target)]) == 2
    assert f"--quarantine {target}" in capsys.readouterr().err


def test_evaluate_without_a_positive_newest_interaction_says_nothing_can_be_measured(
    interactions_csv, tmp_path, capsys
):
    panned = pd.read_csv(interactions_csv).assign(EVENT_VALUE=0.0)
    panned.to_csv(tmp_path / "panned.csv", index=False)
    assert main(["evaluate", "--interactions", str(tmp_path / "panned.csv"), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "panned.csv: nothing to measure. Of 40 users, 4 were drawn as test users" in err


def test_evaluate_table_has_a_column_per_model_the_default_starred_and_says_what_it_averaged(interactions_csv, capsys):
    assert main(["evaluate", "--interactions", str(interactions_csv)]) == 0
    header, *rows, footer = capsys.readouterr().out.strip().splitlines()
    assert header.split()[1:] == [name + ("*" if name == DEFAULT_MODEL else "") for name in MODELS]
    assert [row.split()[0] for row in rows] == list(METRIC_NAMES)
    assert all(len(row.split()) == len(MODELS) + 1 for row in rows)
    assert "5 split(s)" in footer and "3 duplicate rows counted once" in footer


def test_leaf_category_is_the_last_level_of_the_path_or_the_category():
    with_path = pd.DataFrame(
        {"ITEM_ID": ["a", "b"], "CATEGORY": ["Home", "Tools"], "CATEGORY_PATH": ["Home|Kettles", "Tools"]}
    )
    assert leaf_categories(np.array(["a", "b", "z"]), with_path).tolist() == ["Kettles", "Tools", ""]
    assert leaf_categories(np.array(["a"]), with_path.drop(columns="CATEGORY_PATH")).tolist() == ["Home"]
    assert leaf_categories(np.array(["a"]), with_path[["ITEM_ID"]]).tolist() == [""]


def test_grouped_neighbours_never_cross_groups():
    identical = sp.csr_matrix(np.ones((3, 2), dtype=np.float32))
    similarity = grouped_cosine_neighbours(identical, np.array(["x", "y", "x"]), k=5).toarray()
    np.testing.assert_allclose(similarity, [[0, 0, 1], [0, 0, 0], [1, 0, 0]], atol=1e-6)


def dense_neighbours(features: sp.csr_matrix, groups: np.ndarray, k: int) -> np.ndarray:
    """The whole item x item cosine at once, each row's k best other items of its group by a full sort."""
    norms = np.sqrt(features.multiply(features).sum(axis=1).A.ravel())
    unit = sp.csr_matrix(sp.diags(1 / np.where(norms > 0, norms, 1)) @ features)
    similarity = unit @ unit.T.toarray()
    similarity[(groups[:, None] != groups[None, :]) | np.eye(len(groups), dtype=bool)] = 0
    order = np.lexsort((np.broadcast_to(np.arange(len(groups)), similarity.shape), -similarity), axis=1)[:, :k]
    best = np.zeros_like(similarity)
    np.put_along_axis(best, order, np.take_along_axis(similarity, order, axis=1), axis=1)
    return best


@pytest.mark.parametrize("k", [1, 3, 100])
@pytest.mark.parametrize("dense_cells", [0, 10**9])
def test_neighbours_by_blocks_are_the_dense_computation_ties_and_groups_included(monkeypatch, k, dense_cells):
    # 6 distinct 0/1 rows (one empty) drawn 40 times: many exactly tied cosines; blocks of 3 rows and 40 cells, so
    # groups are split across blocks and blocks span groups; dense_cells 0 multiplies sparse x sparse
    rng = np.random.default_rng(k)
    distinct = rng.integers(0, 2, size=(6, 8)).astype(np.float32) * (np.arange(6) > 0)[:, None]
    features = sp.csr_matrix(distinct[rng.integers(0, 6, size=40)])
    groups = rng.choice(np.array(["x", "y", "z"]), size=40, p=[0.6, 0.3, 0.1])
    monkeypatch.setattr(neighbours, "_NEIGHBOUR_BLOCK", 3)
    monkeypatch.setattr(neighbours, "_BLOCK_CELLS", 40)
    monkeypatch.setattr(neighbours, "_DENSE_FEATURE_CELLS", dense_cells)
    expected = dense_neighbours(features, groups, k)
    similarity = grouped_cosine_neighbours(features, groups, k)
    np.testing.assert_array_equal(similarity.toarray(), expected)
    assert similarity.nnz == np.count_nonzero(expected)


def test_neighbours_of_one_large_group_take_memory_by_the_block_not_by_the_square(monkeypatch):
    # 4,000 items of one leaf: the whole cosine is 64 MB of float32; blocks of 1 Mi cells (4 MB) keep the peak far below
    features = sp.csr_matrix(np.random.default_rng(0).random((4000, 16), dtype=np.float32))
    monkeypatch.setattr(neighbours, "_BLOCK_CELLS", 1024 * 1024, raising=False)
    tracemalloc.start()
    try:
        similarity = grouped_cosine_neighbours(features, np.zeros(4000, dtype=np.int64), k=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert similarity.nnz == 4000 * 5
    assert peak < 24 * 1024 * 1024


def topics(n_topics: int, per_topic: int, seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """Items of `n_topics` disjoint vocabularies of 6 tokens (random positive weights), shuffled; and each topic."""
    rng = np.random.default_rng(seed)
    topic = rng.permutation(np.repeat(np.arange(n_topics), per_topic))
    weights = rng.random((len(topic), 6), dtype=np.float32) + 0.1
    columns = topic[:, None] * 6 + np.arange(6)
    rows = np.repeat(np.arange(len(topic)), 6)
    return sp.csr_matrix((weights.ravel(), (rows, columns.ravel())), shape=(len(topic), 6 * n_topics)), topic


def test_a_group_above_the_bound_is_split_into_parts_within_it_the_others_kept_and_the_same_every_time():
    features, _ = topics(7, 30)
    groups = np.where(np.arange(210) < 200, "big", "small")  # 200 items above the bound of 64, 10 within it
    labels = similar_subgroups(features, groups, bound=64)
    assert np.bincount(np.unique(labels[:200], return_inverse=True)[1]).max() <= 64
    assert len(np.unique(labels[200:])) == 1 and not np.isin(labels[200:], labels[:200]).any()
    np.testing.assert_array_equal(labels, similar_subgroups(features, groups, bound=64))
    assert similar_subgroups(features, groups, bound=200) is groups  # nothing above the bound: the groups as given


def test_identical_items_above_the_bound_are_cut_into_parts_within_it():
    labels = similar_subgroups(sp.csr_matrix(np.ones((100, 2), dtype=np.float32)), np.zeros(100), bound=30)
    assert np.bincount(np.unique(labels, return_inverse=True)[1]).max() <= 30


def test_neighbours_of_a_large_group_of_clustered_items_are_the_exact_ones():
    # 5 topics of 40 items in one group of 200, a bound of 50: no topic is cut, so every item's neighbours are exact
    features, _ = topics(5, 40)
    group = np.zeros(200, dtype=np.int64)
    split = grouped_cosine_neighbours(features, similar_subgroups(features, group, bound=50), k=10)
    np.testing.assert_array_equal(split.toarray(), grouped_cosine_neighbours(features, group, k=10).toarray())


def test_items_beyond_the_ease_cap_are_scored_by_their_neighbours_only_when_asked():
    # max_items=3 keeps the b items (most popular); a1-a3 are tail items, related only by co-occurrence
    data = training_data(TWO_GROUPS, None)
    with_tail = partial(fit_ease, max_items=3, tail_neighbours=10)
    without_tail = partial(fit_ease, max_items=3)
    assert recommended(with_tail, data, "new") == ["a2", "a3"]
    assert recommended(without_tail, data, "new") == ["b1", "b2"]


def test_settings_fall_back_when_too_few_users_can_validate_them():
    data = training_data(TWO_GROUPS, None)
    fallback = HybridSettings(7.0, 2.0, 0.5)
    assert validated_settings(data, regularizations=(1.0, 2.0), fallback=fallback, min_users=9) == fallback
    only = validated_settings(
        data, regularizations=(1.0,), half_lives=(None,), sequence_weights=(0.0,), fallback=fallback, min_users=8
    )
    assert only == HybridSettings(1.0, None, 0.0)


def test_tfidf_is_the_same_whatever_the_chunk_size(monkeypatch):
    texts = np.array(["Steel Kettle", "", "Steel Drill\nCordless", "cordless saw", "Kettle saw"])
    whole = tfidf(texts).toarray()
    monkeypatch.setattr(neighbours, "_TEXTS_PER_CHUNK", 2)
    np.testing.assert_array_equal(tfidf(texts).toarray(), whole)
    assert whole.shape == (5, 4) and np.count_nonzero(whole, axis=1).tolist() == [2, 0, 2, 2, 2]


def test_the_simplest_candidate_within_one_standard_error_of_the_best_wins():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, size=400)
    assert simplest_within_one_standard_error(np.stack([noise, noise + 0.01, noise + 5])) == 2  # clearly better
    close = np.stack([noise, noise + rng.normal(0.01, 0.5, size=400)])  # better by far less than its noise
    assert simplest_within_one_standard_error(close) == 0


def walks(ordered: bool) -> pd.DataFrame:
    """600 users each like 6 consecutive items of a 30-item cycle, in cycle order (or all on one day, with no order)."""
    rng = np.random.default_rng(1)
    start = rng.integers(0, 30, size=600)
    steps = np.arange(6)
    user = np.repeat(np.arange(600), 6)
    item = (start[:, None] + steps).ravel() % 30
    timestamp = np.tile(steps, 600) if ordered else np.repeat(np.arange(600), 6)
    return pd.DataFrame(
        {"USER_ID": user.astype(str), "ITEM_ID": item.astype(str), "TIMESTAMP": timestamp, "EVENT_VALUE": 1.0}
    )


def test_order_validation_learns_nothing_from_the_users_it_ranks_for():
    # user 0 likes item 0, then item 1 (hidden); users 1-20 like 0, 1, then one of items 2-13 (hidden);
    # users 21-80 like 0, then one of items 2-13
    histories = [[0, 1]] + [[0, 1, 2 + n % 12] for n in range(20)] + [[0, 2 + n % 12] for n in range(60)]
    user = np.repeat(np.arange(81), [len(h) for h in histories])
    item = np.concatenate(histories)
    timestamp = np.concatenate([np.arange(1, len(h) + 1) for h in histories])
    newest = np.r_[timestamp[1:] <= timestamp[:-1], True]
    ndcg = partial(
        _order_ndcg,
        (user, item, timestamp, newest),
        shape=(81, 14),
        regularization=10.0,
        half_lives=(None, 3.5),
        sequence_weights=(0.0, 1.0),
    )
    # ranking for users 0-20 together: what users 1-20 gave as input must not teach user 0 "1 after 0"
    np.testing.assert_array_equal(ndcg(np.arange(21))[:, 0], 0.0)
    # ranking for user 0 alone: users 1-20 are learned from, and teach it
    np.testing.assert_allclose(ndcg(np.array([0]))[:, 0], 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_order_counts_only_where_it_predicts_the_next_items(seed):
    ordered = validated_settings(training_data(walks(ordered=True), None), seed=seed)
    assert ordered.sequence > 0
    # a day's likes have no order: recency and transitions have nothing to add
    unordered = validated_settings(training_data(walks(ordered=False), None), seed=seed)
    assert (unordered.half_life, unordered.sequence) == (None, 0.0)
