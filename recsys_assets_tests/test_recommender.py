from typing import get_args

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_assets.ml.als import (
    RecommenderParams,
    TrainedRecommender,
    _best_columns,
    _ItemsByNorm,
)
from recsys_assets.ml.encoding import training_data
from recsys_assets.ml.popularity import recommend_popular
from recsys_assets.ml.registry import MODELS, load_model
from recsys_assets.ml.serving import RECOMMENDATION_COLUMNS
from recsys_assets.resources.recommender import LocalRecommender, ModelName

SMALL = RecommenderParams(factors=4, iterations=5)

ITEMS = pd.DataFrame(
    {
        "ITEM_ID": ["a", "b", "c", "d", "e", "f", "h"],
        "CATEGORY": ["kitchen", "kitchen", "kitchen", "garden", "garden", "garden", None],
    }
)


def reviews(*rows: tuple[str, str, float]) -> pd.DataFrame:
    """Interactions in the order given (TIMESTAMP = row number)."""
    users, items, values = zip(*rows) if rows else ((), (), ())
    return pd.DataFrame(
        {
            "USER_ID": pd.Series(users, dtype="str"),
            "ITEM_ID": pd.Series(items, dtype="str"),
            "TIMESTAMP": np.arange(len(rows), dtype=np.int64),
            "EVENT_TYPE": "review",
            "EVENT_VALUE": np.asarray(values, dtype=float),
        }
    )


# Positive-review counts: e 3; a, b, c, f 2; d 1 (two users panned it); h 0.
INTERACTIONS = reviews(
    ("u1", "a", 1.0), ("u1", "b", 0.8), ("u1", "d", 0.0),
    ("u2", "a", 1.0), ("u2", "c", 0.6),
    ("u3", "b", 1.0), ("u3", "c", 1.0), ("u3", "e", 0.9),
    ("u4", "d", 1.0), ("u4", "e", 1.0), ("u4", "f", 0.7),
    ("u5", "e", 1.0), ("u5", "f", 1.0),
    ("u6", "d", 0.0),
)  # fmt: skip


@pytest.fixture(scope="module")
def model() -> TrainedRecommender:
    return TrainedRecommender.train(INTERACTIONS, ITEMS, SMALL)


def items_for(recommendations: pd.DataFrame, user: str) -> list[str]:
    return recommendations.loc[recommendations["USER_ID"] == user, "ITEM_ID"].tolist()


def test_popularity_counts_users_whose_review_is_positive(model):
    popularity = dict(zip(model.item_ids, model.item_popularity))
    assert popularity == {"a": 2, "b": 2, "c": 2, "d": 1, "e": 3, "f": 2, "h": 0}


def test_latest_review_of_a_pair_decides_whether_it_is_positive():
    changed_mind = reviews(("u1", "a", 1.0), ("u2", "a", 1.0), ("u1", "a", 0.0))
    trained = TrainedRecommender.train(changed_mind, ITEMS, SMALL)
    assert dict(zip(trained.item_ids, trained.item_popularity))["a"] == 1


def test_top_n_never_contains_an_item_the_user_reviewed_even_negatively(model):
    recommendations = model.recommend(INTERACTIONS, ["u1", "u2", "u3", "u4", "u5", "u6"], num_results=4)
    seen = set(zip(INTERACTIONS["USER_ID"], INTERACTIONS["ITEM_ID"]))
    assert not seen & set(zip(recommendations["USER_ID"], recommendations["ITEM_ID"]))


def test_reason_is_the_liked_item_with_the_most_similar_factors_and_never_a_panned_one(model):
    recommendations = model.recommend(INTERACTIONS, ["u1", "u2", "u3", "u4", "u5"], num_results=3)
    als = recommendations[recommendations["SOURCE"] == "als"]
    assert len(als) > 0
    index = {item: position for position, item in enumerate(model.item_ids)}
    unit = {
        item: model.item_factors[i] / np.linalg.norm(model.item_factors[i]) for item, i in index.items() if item != "h"
    }
    liked = INTERACTIONS[INTERACTIONS["EVENT_VALUE"] > 0].groupby("USER_ID")["ITEM_ID"].apply(sorted)
    for user, item, reason in zip(als["USER_ID"], als["ITEM_ID"], als["REASON_ITEM_ID"]):
        similarity = {candidate: unit[candidate] @ unit[item] for candidate in liked[user]}
        assert reason == max(similarity, key=similarity.get)
    assert "d" not in set(als.loc[als["USER_ID"] == "u1", "REASON_ITEM_ID"])
    assert als["REASON_CATEGORY"].isna().all()


def test_als_rows_come_first_with_ranks_one_to_n_and_falling_scores(model):
    recommendations = model.recommend(INTERACTIONS, ["u3"], num_results=4)
    assert list(recommendations.columns) == list(RECOMMENDATION_COLUMNS)
    assert recommendations["RANK"].tolist() == [1, 2, 3, 4]
    als = recommendations[recommendations["SOURCE"] == "als"]
    assert als["RANK"].tolist() == list(range(1, len(als) + 1))
    assert als["SCORE"].is_monotonic_decreasing


def test_user_unknown_to_the_model_without_history_gets_overall_popularity_ties_by_item_id(model):
    recommendations = model.recommend(INTERACTIONS, ["stranger"], num_results=4)
    assert items_for(recommendations, "stranger") == ["e", "a", "b", "c"]
    assert set(recommendations["SOURCE"]) == {"popularity"}
    assert recommendations["REASON_CATEGORY"].isna().all()
    assert recommendations["SCORE"].tolist() == [3.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("user", ["u1", "u2", "u3", "u4", "u5"])
def test_a_user_the_model_has_not_seen_is_folded_in_and_ranked_like_a_known_user_with_the_same_reviews(model, user):
    twin = INTERACTIONS[INTERACTIONS["USER_ID"] == user].assign(USER_ID="twin")
    recommendations = model.recommend(pd.concat([INTERACTIONS, twin], ignore_index=True), [user, "twin"], num_results=3)
    assert items_for(recommendations, "twin") == items_for(recommendations, user)
    assert set(recommendations["SOURCE"]) == {"als"}


def test_new_user_with_one_liked_item_gets_model_picks_with_that_item_as_the_reason(model):
    history = pd.concat([INTERACTIONS, reviews(("newcomer", "a", 1.0))], ignore_index=True)
    recommendations = model.recommend(history, ["newcomer"], num_results=4)
    assert len(recommendations) == 4 and "a" not in items_for(recommendations, "newcomer")
    assert set(recommendations["SOURCE"]) == {"als"} and set(recommendations["REASON_ITEM_ID"]) == {"a"}


def test_user_with_only_negative_reviews_gets_uncategorised_popularity(model):
    recommendations = model.recommend(INTERACTIONS, ["u6"], num_results=3)
    assert items_for(recommendations, "u6") == ["e", "a", "b"]
    assert set(recommendations["SOURCE"]) == {"popularity"}
    assert recommendations["REASON_CATEGORY"].isna().all()


def test_each_user_gets_exactly_as_many_rows_as_unseen_items_allow(model):
    history = pd.concat([INTERACTIONS, reviews(("u2", "b", 1.0), ("u2", "d", 0.0), ("u2", "e", 1.0))])
    recommendations = model.recommend(history, ["u2", "u3", "stranger"], num_results=5)
    assert recommendations.groupby("USER_ID").size().to_dict() == {"stranger": 5, "u2": 2, "u3": 4}
    assert sorted(items_for(recommendations, "u2")) == ["f", "h"]


def test_requested_users_keep_their_order_and_duplicates_collapse(model):
    recommendations = model.recommend(INTERACTIONS, ["u5", "stranger", "u5", "u1"], num_results=2)
    assert recommendations["USER_ID"].tolist() == ["u5", "u5", "stranger", "stranger", "u1", "u1"]


def test_training_twice_gives_identical_factors():
    first = TrainedRecommender.train(INTERACTIONS, ITEMS, SMALL)
    second = TrainedRecommender.train(INTERACTIONS, ITEMS, SMALL)
    np.testing.assert_array_equal(first.user_factors, second.user_factors)
    np.testing.assert_array_equal(first.item_factors, second.item_factors)


def test_save_then_load_gives_identical_recommendations(model, tmp_path):
    model.save(tmp_path / "model")
    loaded = TrainedRecommender.load(tmp_path / "model")
    assert loaded.params == model.params
    users = ["u1", "u2", "u3", "u4", "u5", "u6", "stranger"]
    pd.testing.assert_frame_equal(
        loaded.recommend(INTERACTIONS, users, num_results=3), model.recommend(INTERACTIONS, users, num_results=3)
    )


def test_block_pruned_scoring_matches_brute_force_top_n():
    rng = np.random.default_rng(0)
    n_items, n = 1000, 5
    norms = np.linspace(3, 0.01, n_items)
    factors = (rng.standard_normal((n_items, 8)) * (norms / np.sqrt(8))[:, None]).astype(np.float32)
    padded = np.zeros((1024, 8), dtype=np.float32)
    padded[:n_items] = factors
    items = _ItemsByNorm(np.arange(n_items), padded, np.r_[np.linalg.norm(factors, axis=1), np.zeros(25)])
    users = rng.standard_normal((50, 8)).astype(np.float32)
    seen_row, seen_column = np.repeat(np.arange(50), 3), rng.integers(0, 64, 150)

    columns, scores = _best_columns(users, items, seen_row, seen_column, n, first_block=64)

    brute = users @ factors.T
    brute[seen_row, seen_column] = -np.inf
    expected = np.argsort(-brute, axis=1, kind="stable")[:, :n]
    np.testing.assert_array_equal(columns, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(brute, expected, axis=1), rtol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["u1", "u2", "u3"]), st.sampled_from(list("abcdefh")), st.sampled_from([0.0, 1.0])),
        min_size=1,
        max_size=20,
    ),
    st.integers(min_value=1, max_value=8),
)
def test_popularity_baselines_are_the_most_popular_items_ties_by_item_id(rows, num_results):
    history = reviews(*rows)
    trained = TrainedRecommender.train(history, ITEMS, SMALL)
    latest = history.drop_duplicates(["USER_ID", "ITEM_ID"], keep="last")
    popularity = latest[latest["EVENT_VALUE"] > 0]["ITEM_ID"].value_counts()
    ranking = sorted(ITEMS["ITEM_ID"], key=lambda item: (-popularity.get(item, 0), item))
    seen = set(history.loc[history["USER_ID"] == "u1", "ITEM_ID"])
    unseen = recommend_popular(trained, history, ["u1", "stranger"], num_results, include_reviewed=False)
    assert items_for(unseen, "u1") == [item for item in ranking if item not in seen][:num_results]
    assert items_for(unseen, "stranger") == ranking[:num_results]
    personalize_way = recommend_popular(trained, history, ["u1", "stranger"], num_results)  # the same list for all
    assert items_for(personalize_way, "u1") == items_for(personalize_way, "stranger") == ranking[:num_results]


@pytest.mark.parametrize("name", list(MODELS))
def test_every_registry_model_is_trained_stored_and_served_by_the_resource(name, tmp_path):
    resource = LocalRecommender(model=name, factors=4, iterations=5)
    trained = resource.train(INTERACTIONS, ITEMS)
    assert isinstance(trained, MODELS[name].model) and resource.model_settings(trained)["model"] == name
    trained.save(tmp_path)
    loaded = load_model(tmp_path)
    assert type(loaded) is type(trained) and loaded.params == trained.params
    users = pd.Series(["u1", "u3", "u6", "stranger"])
    served = resource.recommend(loaded, INTERACTIONS, users, 3)
    assert tuple(served.columns) == RECOMMENDATION_COLUMNS
    assert served.groupby("USER_ID").size().to_dict() == {user: 3 for user in users}
    pd.testing.assert_frame_equal(served, resource.recommend(trained, INTERACTIONS, users, 3))


def test_the_resource_accepts_exactly_the_registry_names():
    assert set(get_args(ModelName)) == set(MODELS)


@pytest.mark.parametrize("name", ["item-knn", "content", "ease", "item-item"])
def test_served_item_picks_are_the_benchmarked_scorers_best_positive_unseen_items(name):
    spec = MODELS[name]
    params = spec.model.params_type(**spec.params)
    data = training_data(INTERACTIONS, ITEMS, params.min_positive_value)
    model = spec.model.fit(data, params)
    users = data.user_ids
    served = model.recommend(INTERACTIONS, users, 3)
    scores = model.scorer(data).scores(np.arange(len(users))).astype(np.float64)
    scores[data.seen.nonzero()] = -np.inf
    for row, user in enumerate(users):
        picks = served[(served["USER_ID"] == user) & (served["SOURCE"] == name)]
        expected = np.sort(scores[row][scores[row] > 0])[::-1][:3]
        np.testing.assert_allclose(picks["SCORE"], expected, rtol=1e-5)
        columns = np.searchsorted(data.item_ids, picks["ITEM_ID"].astype(str))
        np.testing.assert_allclose(scores[row, columns], picks["SCORE"], rtol=1e-5)
