import json
from dataclasses import asdict

import numpy as np
import pandas as pd

from recsys_assets.ml.als import TrainedRecommender
from recsys_assets.ml.item_item import TrainedItemItem
from recsys_assets.ml.registry import load_model
from recsys_assets.ml.serving import RECOMMENDATION_COLUMNS
from recsys_assets.resources.recommender import LocalRecommender


def interactions(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Interactions in the order given (TIMESTAMP = row number)."""
    users, items, values = zip(*rows)
    return pd.DataFrame(
        {
            "USER_ID": pd.Series(users, dtype="str"),
            "ITEM_ID": pd.Series(items, dtype="str"),
            "TIMESTAMP": np.arange(len(rows), dtype=np.int64),
            "EVENT_TYPE": "review",
            "EVENT_VALUE": np.array(values, dtype=np.float64),
        }
    )


# Group A (a1-a3) and group B (b1-b3) never share a user; b1 is the most popular item overall.
HISTORY = interactions(
    [(f"ua{n}", item, 1.0) for n in range(3) for item in ("a1", "a2", "a3")]
    + [(f"ub{n}", item, 1.0) for n in range(5) for item in ("b1", "b2", "b3")]
    + [("new", "a1", 1.0), ("both", "a1", 1.0), ("both", "b1", 1.0), ("hater", "a1", 0.0)]
)
ITEMS = pd.DataFrame({"ITEM_ID": ["a1", "a2", "a3", "b1", "b2", "b3"], "CATEGORY": ["A"] * 3 + ["B"] * 3})


def test_picks_come_from_the_liked_items_group_with_that_item_as_reason():
    model = TrainedItemItem.train(HISTORY, ITEMS)
    table = model.recommend(HISTORY, ["new"], num_results=2)
    assert list(table.columns) == list(RECOMMENDATION_COLUMNS)
    assert table["ITEM_ID"].tolist() == ["a2", "a3"]
    assert table["SOURCE"].tolist() == ["item-item"] * 2 and table["REASON_ITEM_ID"].tolist() == ["a1", "a1"]


def test_each_pick_names_the_liked_item_that_drove_its_score():
    model = TrainedItemItem.train(HISTORY, ITEMS)
    table = model.recommend(HISTORY, ["both"], num_results=4)
    assert set(zip(table["ITEM_ID"], table["REASON_ITEM_ID"])) == {
        ("a2", "a1"),
        ("a3", "a1"),
        ("b2", "b1"),
        ("b3", "b1"),
    }


def test_lists_are_topped_up_by_popularity_and_never_repeat_a_seen_item():
    history = HISTORY[HISTORY["USER_ID"] != "both"]  # nobody links the groups, so b items score 0 for "new"
    model = TrainedItemItem.train(history, ITEMS)
    table = model.recommend(history, ["new", "hater"], num_results=4)
    new = table[table["USER_ID"] == "new"]
    assert new["ITEM_ID"].tolist() == ["a2", "a3", "b1", "b2"]
    assert new["SOURCE"].tolist() == ["item-item", "item-item", "popularity", "popularity"]
    assert new["REASON_CATEGORY"].isna().all()  # category A has nothing left, so the overall list
    hater = table[table["USER_ID"] == "hater"]  # reviewed a1 without liking it: no model picks, a1 stays excluded
    assert hater["ITEM_ID"].tolist() == ["b1", "b2", "b3", "a2"]
    assert set(hater["SOURCE"]) == {"popularity"} and hater["REASON_ITEM_ID"].isna().all()


def test_a_saved_model_loads_back_and_recommends_the_same(tmp_path):
    model = TrainedItemItem.train(HISTORY, ITEMS)
    model.save(tmp_path / "item-item")
    TrainedRecommender.train(HISTORY, ITEMS).save(tmp_path / "als")
    assert isinstance(load_model(tmp_path / "als"), TrainedRecommender)
    loaded = load_model(tmp_path / "item-item")
    assert isinstance(loaded, TrainedItemItem)
    users = ["new", "both", "hater"]
    pd.testing.assert_frame_equal(loaded.recommend(HISTORY, users, 4), model.recommend(HISTORY, users, 4))
    assert loaded.params == model.params


def test_the_local_recommender_trains_and_measures_the_item_item_model_by_default():
    recommender = LocalRecommender()
    model = recommender.train(HISTORY, ITEMS)
    assert isinstance(model, TrainedItemItem) and (model.trained_users, model.trained_items) == (11, 6)
    assert set(recommender.offline_metrics(HISTORY, ITEMS)) == {"model", "popularity-count", "popularity-unseen"}
    assert recommender.recommend(model, HISTORY, pd.Series(["new"]), 2)["ITEM_ID"].tolist() == ["a2", "a3"]
    settings = json.loads(json.dumps(recommender.model_settings(model)))  # JSON-ready, for the asset's metadata
    assert settings["model"] == "item-item" and settings["settings"] == asdict(model.params.settings)


# Six items c0..c5 on a cycle; each walker likes three consecutive ones, in that order.
CYCLE = [f"c{n}" for n in range(6)]
CYCLE_ITEMS = pd.DataFrame({"ITEM_ID": CYCLE, "CATEGORY": "C"})
WALKS = interactions(
    [
        (f"w{start}{copy}", CYCLE[(start + step) % 6], 1.0)
        for start in range(6)
        for copy in range(3)
        for step in range(3)
    ]
)


def test_the_item_that_usually_comes_next_is_recommended_first():
    model = TrainedItemItem.train(WALKS, CYCLE_ITEMS)
    assert model.params.settings.sequence > 0
    history = interactions([("u", "c3", 1.0)])
    table = model.recommend(history, ["u"], num_results=1)
    assert table[["ITEM_ID", "REASON_ITEM_ID"]].values.tolist() == [["c4", "c3"]]  # c2 co-occurs as often, but before


def test_the_newest_liked_item_weighs_most():
    model = TrainedItemItem.train(WALKS, CYCLE_ITEMS)
    first = model.recommend(interactions([("u", "c0", 1.0), ("u", "c3", 1.0)]), ["u"], num_results=1)
    assert first[["ITEM_ID", "REASON_ITEM_ID"]].values.tolist() == [["c4", "c3"]]
    first = model.recommend(interactions([("u", "c3", 1.0), ("u", "c0", 1.0)]), ["u"], num_results=1)
    assert first[["ITEM_ID", "REASON_ITEM_ID"]].values.tolist() == [["c1", "c0"]]
