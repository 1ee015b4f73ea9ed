"""A re-run writes only the emails whose inputs changed; every other .eml is left as it is."""

from dagster import build_asset_context

from recsys_assets.defs.marketing.assets import emails, inputs_manifest
from recsys_assets.resources.email_writer import TemplateEmailWriter
from recsys_assets.resources.object_store import LocalObjectStore

from .conftest import PRODUCTS
from .conftest import RECOMMENDATIONS_U1_U2 as RECOMMENDATIONS
from .conftest import USERS_U1_U2 as USERS


def materialize(store, recommendations=RECOMMENDATIONS, writer=None):
    writer = writer or TemplateEmailWriter(workers=1)
    return emails(build_asset_context(partition_key="general"), recommendations, PRODUCTS, USERS, writer, store)


def snapshot(folder):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.glob("*.eml"))}


def test_unchanged_customers_keep_their_email_and_changed_ones_get_a_new_one(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    folder = tmp_path / "emails" / "general"
    first = materialize(store)
    assert (first.metadata["emails_written"], first.metadata["emails_reused"]) == (2, 0)
    before = snapshot(folder)

    again = materialize(store)
    assert (again.metadata["emails_written"], again.metadata["emails_reused"]) == (0, 2) and snapshot(folder) == before
    assert again.value[["user_id", "status"]].values.tolist() == [["U1", "written"], ["U2", "written"]]

    u2_gets_p3 = RECOMMENDATIONS.assign(ITEM_ID=["P1", "P2", "P3", "P2"])
    changed = materialize(store, u2_gets_p3)
    after = snapshot(folder)
    assert (changed.metadata["emails_written"], changed.metadata["emails_reused"]) == (1, 1)
    assert after["U1.eml"] == before["U1.eml"] and after["U2.eml"][0] != before["U2.eml"][0]


def test_new_templates_a_lost_file_or_a_broken_manifest_mean_writing_again(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    materialize(store)
    (tmp_path / "emails" / "general" / "U1.eml").unlink()
    assert materialize(store).metadata["emails_reused"] == 1  # U2 only
    assert (tmp_path / "emails" / "general" / "U1.eml").exists()

    (tmp_path / inputs_manifest("general")).write_bytes(b"not parquet")
    assert materialize(store).metadata["emails_reused"] == 0

    templates = tmp_path / "templates"
    templates.mkdir()
    for name in ("subject.txt.j2", "email.txt.j2", "email.html.j2"):
        (templates / name).write_text("{{ user_name }} " + name)
    custom = TemplateEmailWriter(workers=1, template_dir=str(templates))
    assert materialize(store, writer=custom).metadata["emails_reused"] == 0
