import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from recsys_assets.resources.profile_store import SqliteProfileStore


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


@pytest.mark.parametrize("trial", range(5))
def test_concurrent_writers_of_other_scopes_to_a_fresh_database_keep_every_row(tmp_path, trial):
    path, barrier = str(tmp_path / "p.sqlite"), threading.Barrier(2)

    def write(segment):
        users = [f"{segment}{i}" for i in range(300)]
        frame = recs([[user, rank, "x"] for user in users for rank in (1, 2, 3)])
        barrier.wait()  # both start on a database without the table
        SqliteProfileStore(path=path).replace_rows("recommendations", frame, "user_id", pd.Series(users))

    with ThreadPoolExecutor(2) as pool:  # each call opens its own connection
        list(pool.map(write, ["A", "B"]))  # a writer's error is raised here
    assert SqliteProfileStore(path=path).count("recommendations") == 2 * 300 * 3


def test_new_columns_keep_the_other_scopes_rows(tmp_path):
    store = SqliteProfileStore(path=str(tmp_path / "p.sqlite"))
    store.replace_rows("recommendations", recs([["u1", 1, "a"], ["u2", 1, "b"]]), "user_id", pd.Series(["u1", "u2"]))
    store.replace_rows("recommendations", recs([["u2", 1, "c"]]).assign(SCORE=0.5), "user_id", pd.Series(["u2"]))
    table = store.read_table("recommendations").sort_values("user_id")
    assert table.astype(object).where(table.notna(), None).values.tolist() == [
        ["u1", 1, "a", None],
        ["u2", 1, "c", 0.5],
    ]


def test_keep_only_deletes_the_rows_of_customers_no_longer_there(tmp_path):
    store = SqliteProfileStore(path=str(tmp_path / "p.sqlite"))
    assert store.keep_only("recommendations", "user_id", pd.Series(["u1"])) == 0  # no table yet: nothing to do
    store.replace_table("recommendations", recs([["u1", 1, "a"], ["u2", 1, "b"], ["gone", 1, "c"]]))
    assert store.keep_only("recommendations", "user_id", pd.Series(["u1", "u2"])) == 2
    assert store.read_table("recommendations").sort_values("user_id").values.tolist() == [
        ["u1", 1, "a"],
        ["u2", 1, "b"],
    ]
