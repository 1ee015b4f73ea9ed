"""A re-run writes only the emails whose inputs changed and whose file still holds the bytes it was written with;
every other .eml is left as it is. No two customers share a file."""

from email import message_from_bytes
from email.policy import default

import pandas as pd
import pytest
from dagster import build_asset_context

from recsys_assets.defs.marketing import assets
from recsys_assets.defs.marketing.assets import emails, inputs_manifest
from recsys_assets.emails.render import email_filename
from recsys_assets.resources.email_writer import TemplateEmailWriter
from recsys_assets.resources.object_store import LocalObjectStore

from .conftest import EMAIL_DATE, PRODUCTS, mailable
from .conftest import RECOMMENDATIONS_U1_U2 as RECOMMENDATIONS
from .conftest import USERS_U1_U2 as USERS

U1, U2 = email_filename(pd.Series(["U1", "U2"])).tolist()


class CrashBeforeManifest(LocalObjectStore):
    """A store whose manifest write fails, as a run killed between a segment's emails and its manifest."""

    def write_bytes(self, key: str, data: bytes) -> None:
        if key == inputs_manifest("general"):
            raise OSError("killed")
        super().write_bytes(key, data)


def materialize(store, recommendations=RECOMMENDATIONS, writer=None, users=USERS, recipients=None):
    # a pinned Date: an email written again is byte for byte the one written before
    writer = writer or TemplateEmailWriter(workers=1, email_date=EMAIL_DATE.isoformat())
    recipients = mailable(users) if recipients is None else recipients
    context = build_asset_context(partition_key="general")
    return emails(context, recommendations, PRODUCTS, users, recipients, writer, store)


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
    assert after[U1] == before[U1] and after[U2][0] != before[U2][0]


def test_new_templates_a_lost_file_or_a_broken_manifest_mean_writing_again(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    materialize(store)
    (tmp_path / "emails" / "general" / U1).unlink()
    assert materialize(store).metadata["emails_reused"] == 1  # U2 only
    assert (tmp_path / "emails" / "general" / U1).exists()

    (tmp_path / inputs_manifest("general")).write_bytes(b"not parquet")
    assert materialize(store).metadata["emails_reused"] == 0

    templates = tmp_path / "templates"
    templates.mkdir()
    for name in ("subject.txt.j2", "email.txt.j2", "email.html.j2"):
        (templates / name).write_text("{{ user_name }} " + name)
    custom = TemplateEmailWriter(workers=1, template_dir=str(templates))
    assert materialize(store, writer=custom).metadata["emails_reused"] == 0


def test_a_new_sender_rewrites_every_email(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    materialize(store)
    writer = TemplateEmailWriter(workers=1, sender="Shop <news@other.example>")
    assert materialize(store, writer=writer).metadata["emails_reused"] == 0
    message = message_from_bytes((tmp_path / "emails" / "general" / U1).read_bytes(), policy=default)
    assert message["From"] == "Shop <news@other.example>"


def test_a_changed_address_rewrites_that_customers_email_to_the_new_address(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    materialize(store)
    moved = mailable(USERS)
    moved.loc[moved["user_id"] == "U1", "email"] = "asha@new.example"
    again = materialize(store, recipients=moved)
    assert (again.metadata["emails_written"], again.metadata["emails_reused"]) == (1, 1)
    message = message_from_bytes((tmp_path / "emails" / "general" / U1).read_bytes(), policy=default)
    assert [a.addr_spec for a in message["To"].addresses] == ["asha@new.example"]


def test_a_customer_who_may_no_longer_be_written_to_loses_their_email_and_is_counted(tmp_path):
    store, folder = LocalObjectStore(root=str(tmp_path)), tmp_path / "emails" / "general"
    materialize(store)
    unsubscribed = mailable(USERS).assign(reason=["", "unsubscribed"])
    again = materialize(store, recipients=unsubscribed)
    assert sorted(snapshot(folder)) == [U1] and again.value["user_id"].tolist() == ["U1"]
    assert (again.metadata["emails_skipped"], again.metadata["skipped_by_reason"].value) == (1, {"unsubscribed": 1})
    assert "| unsubscribed | 1 |" in again.metadata["skipped_reasons"].value


def test_a_truncated_or_emptied_email_is_written_again(tmp_path):
    store, folder = LocalObjectStore(root=str(tmp_path)), tmp_path / "emails" / "general"
    materialize(store)
    written = {name: data for name, (data, _) in snapshot(folder).items()}
    (folder / U1).write_bytes(written[U1][:100])
    (folder / U2).write_bytes(b"")
    again = materialize(store)
    assert (again.metadata["emails_written"], again.metadata["emails_reused"]) == (2, 0)
    assert {name: data for name, (data, _) in snapshot(folder).items()} == written


class CountingReads(LocalObjectStore):
    """A store that records the keys read from it."""

    def read_bytes(self, key: str) -> bytes:
        READS.append(key)
        return super().read_bytes(key)


READS: list[str] = []


def test_only_the_emails_the_manifest_would_reuse_are_read_back(tmp_path):
    store = CountingReads(root=str(tmp_path))
    materialize(store)
    READS.clear()
    materialize(store, RECOMMENDATIONS.assign(ITEM_ID=["P1", "P2", "P9", "P2"]))  # U2's email changes
    assert READS == [inputs_manifest("general"), f"emails/general/{U1}"]


def products_named(folder) -> set[str]:
    """The product names the emails in `folder` show."""
    texts = [
        message_from_bytes(p.read_bytes(), policy=default).get_body(("plain",)).get_content() for p in folder.iterdir()
    ]
    return {name for name in PRODUCTS["product_name"] if any(name in text for text in texts)}


def test_emails_left_by_a_run_killed_before_its_manifest_are_not_kept_for_the_data_they_do_not_show(tmp_path):
    folder = tmp_path / "emails" / "general"
    materialize(LocalObjectStore(root=str(tmp_path)))  # data X: P1 and P2 for both
    x_emails = snapshot(folder)
    y = RECOMMENDATIONS.assign(ITEM_ID=["P9", "P1", "P9", "P1"])  # data Y: P9 and P1
    with pytest.raises(OSError, match="killed"):
        materialize(CrashBeforeManifest(root=str(tmp_path)), y)
    assert "Other Thing" in products_named(folder)  # Y's emails on disk, X's manifest

    again = materialize(LocalObjectStore(root=str(tmp_path)))  # data X again
    assert (again.metadata["emails_written"], again.metadata["emails_reused"]) == (2, 0)
    assert {n: data for n, (data, _) in snapshot(folder).items()} == {n: data for n, (data, _) in x_emails.items()}
    assert products_named(folder) == {"Steel Bottle", PRODUCTS["product_name"].iloc[1]}


def test_ids_that_mapped_to_one_file_get_one_file_each(tmp_path):
    ids = ["a/b", "a_b-c14cddc0", "Abc", "abc", "José", "x" * 250]
    recommendations = pd.concat([RECOMMENDATIONS.iloc[:2].assign(USER_ID=user) for user in ids], ignore_index=True)
    users = pd.DataFrame({"user_id": ids, "user_name": ["A", "B", "C", "D", "E", "F"]})
    result = materialize(LocalObjectStore(root=str(tmp_path)), recommendations, users=users)
    files = sorted((tmp_path / "emails" / "general").glob("*.eml"))
    assert result.metadata["emails_written"] == len(files) == 6 and result.metadata["emails_failed"] == 0
    assert len({p.name.lower() for p in files}) == 6 and max(len(p.name) for p in files) <= 68
    recipients = {message_from_bytes(p.read_bytes(), policy=default)["To"].addresses[0].addr_spec for p in files}
    assert len(recipients) == 6


def test_two_customers_given_one_file_stop_the_segment_before_any_email_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "email_filename", lambda ids: pd.Series("same.eml", index=ids.index))
    with pytest.raises(RuntimeError, match=r"bug: users \['U1', 'U2'\] share email files"):
        materialize(LocalObjectStore(root=str(tmp_path)))
    assert not (tmp_path / "emails").exists()
