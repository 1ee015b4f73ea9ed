import pandas as pd

from recsys_assets.resources.profiles import SqliteProfileStore


def recs(rows):
    return pd.DataFrame(rows, columns=["user_id", "rank", "ITEM_ID"])


def test_replacing_one_scope_leaves_the_other_rows_alone(tmp_path):
    store = SqliteProfileStore(path=str(tmp_path / "p.sqlite"))
    store.replace_table("recommendations", recs([["u1", 1, "a"], ["u1", 2, "b"], ["u2", 1, "c"]]))
    store.replace_rows("recommendations", recs([["u1", 1, "z"]]), "user_id", pd.Series(["u1", "u3"]))
    table = store.read_table("recommendations").sort_values(["user_id", "rank"])
    assert table.values.tolist() == [["u1", 1, "z"], ["u2", 1, "c"]]
    store.replace_rows("recommendations", recs([["u1", 1, "z"]]), "user_id", pd.Series(["u1"]))
    assert store.count("recommendations") == 2


def test_replacing_rows_of_a_missing_table_or_with_new_columns_rebuilds_it(tmp_path):
    store = SqliteProfileStore(path=str(tmp_path / "p.sqlite"))
    assert store.replace_rows("recommendations", recs([["u1", 1, "a"]]), "user_id", pd.Series(["u1"])) == 1
    wider = recs([["u2", 1, "b"]]).assign(SCORE=0.5)
    assert store.replace_rows("recommendations", wider, "user_id", pd.Series(["u2"])) == 2
    assert list(store.read_table("recommendations").columns) == ["user_id", "rank", "ITEM_ID", "SCORE"]
