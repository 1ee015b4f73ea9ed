"""The local object store: keys under a root folder."""

from recsys_assets.resources.object_store import LocalObjectStore


def test_deleting_removes_the_folders_it_empties_and_missing_keys_are_no_error(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    store.write_bytes("emails/toys/U1.eml", b"x")
    store.write_bytes("emails/home/U2.eml", b"y")
    store.delete(["emails/toys/U1.eml", "email_inputs/gone.parquet", "emails/nowhere/U3.eml"])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "emails",
        "emails/home",
        "emails/home/U2.eml",
    ]
