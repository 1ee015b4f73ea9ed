"""The campaign preview: one card per email (written or kept), every value escaped, searchable, the same bytes for
the same emails, kept by the steps that clear a segment's folder; and the blocking sendability check on `emails`."""

import base64
import hashlib
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
from dagster import DagsterInstance, asset, build_asset_context, materialize

from recsys_assets.cli.run import failure_message, format_summary
from recsys_assets.defs.marketing.assets import SENDABLE, emails, gallery_key
from recsys_assets.defs.partitions import segments
from recsys_assets.defs.serving.assets import current_customers_served, segment_outputs, stored_segments
from recsys_assets.emails import gallery
from recsys_assets.emails.gallery import POLICY, SCRIPT, GalleryCard, gallery_pages
from recsys_assets.emails.render import email_filename
from recsys_assets.resources.email_writer import TemplateEmailWriter
from recsys_assets.resources.object_store import LocalObjectStore
from recsys_assets.resources.profile_store import SqliteProfileStore

from .conftest import PRODUCTS, mailable
from .conftest import RECOMMENDATIONS_U1_U2 as RECOMMENDATIONS
from .conftest import USERS_U1_U2 as USERS

HOSTILE_NAME = '<script>alert("name")</script>'
HOSTILE_SUBJECT = '"><img src=x onerror=alert(1)> 50% off'
HOSTILE_HTML = '<p>Hi</p></template><script>alert("html")</script><iframe src="https://evil.example"></iframe>'


class Templates(HTMLParser):
    """The text of every <template> and the attributes of every card of a gallery page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.templates, self.cards, self.scripts, self._in = [], [], 0, False

    def handle_starttag(self, tag, attrs):
        self._in = self._in or tag == "template"
        if tag == "template":
            self.templates.append("")
        elif self._in:
            raise AssertionError(f"a <{tag}> tag inside a template")
        self.scripts += tag == "script"
        if tag == "details":
            self.cards.append(dict(attrs))

    def handle_endtag(self, tag):
        self._in = self._in and tag != "template"

    def handle_data(self, data):
        if self._in:
            self.templates[-1] += data


def parsed(page: bytes) -> Templates:
    parser = Templates()
    parser.feed(page.decode("utf-8"))
    return parser


def gallery_page(segment, cards):
    """The index page of a gallery of at most one page."""
    pages = dict(gallery_pages(segment, cards))
    assert list(pages) == ["index.html"]
    return pages["index.html"]


def test_one_card_per_email_in_user_order_and_the_same_bytes_for_the_same_cards():
    cards = [GalleryCard(f"u{i}", f"Name {i}", f"Subject {i}", f"Preview {i}", f"<p>email {i}</p>") for i in (3, 1, 2)]
    page = gallery_page("general", cards)
    assert page == gallery_page("general", cards[::-1])
    assert [card["data-customer"] for card in parsed(page).cards] == ["u1", "u2", "u3"]
    assert parsed(page).templates == ["<p>email 1</p>", "<p>email 2</p>", "<p>email 3</p>"]
    assert b"general: 3 emails" in page and b"Preview 2" in page


def test_hostile_names_subjects_and_html_stay_text_and_the_page_runs_only_its_own_script():
    page = gallery_page("general", [GalleryCard("u1", HOSTILE_NAME, HOSTILE_SUBJECT, HOSTILE_SUBJECT, HOSTILE_HTML)])
    result = parsed(page)
    assert result.templates == [HOSTILE_HTML] and result.scripts == 1
    assert result.cards[0]["data-search"] == f"u1 {HOSTILE_NAME} {HOSTILE_SUBJECT}".lower()
    assert b"<script>alert" not in page and b"<img src=x" not in page
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{script_hash}'" in POLICY and f'content="{POLICY}"'.encode() in page


def test_the_page_has_a_search_box_and_opens_each_email_in_a_frame_without_scripts():
    page = gallery_page("general", [GalleryCard("u1", "Asha", "Hi", "", "<p>x</p>")]).decode()
    assert '<input id="search" type="search"' in page
    assert 'frame.setAttribute("sandbox", "")' in page and "frame.srcdoc = " in page
    assert POLICY.startswith("default-src 'none'; img-src https: data:;")  # nothing else is fetched


def materialize_emails(store, writer=None, recommendations=RECOMMENDATIONS):
    writer = writer or TemplateEmailWriter(workers=1)
    context = build_asset_context(partition_key="general")
    return emails(context, recommendations, PRODUCTS, USERS, mailable(USERS), writer, store)


def test_the_gallery_is_linked_and_holds_written_and_kept_emails_alike(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    first = materialize_emails(store)
    page = (tmp_path / gallery_key("general")).read_bytes()
    assert first.metadata["gallery"].value == (tmp_path / gallery_key("general")).resolve().as_uri()
    assert [card["data-customer"] for card in parsed(page).cards] == ["U1", "U2"]

    u2_changes = RECOMMENDATIONS.assign(ITEM_ID=["P1", "P2", "P9", "P2"])
    again = materialize_emails(store, recommendations=u2_changes)
    assert (again.metadata["emails_written"], again.metadata["emails_reused"]) == (1, 1)
    kept = parsed((tmp_path / gallery_key("general")).read_bytes())
    assert [card["data-customer"] for card in kept.cards] == ["U1", "U2"]
    assert kept.templates[0] == parsed(page).templates[0] and "Other Thing" in kept.templates[1]
    samples = again.metadata["sample_emails"].value
    assert samples.count("**Subject:**") == 2 and "Hi Asha," in samples and "Other Thing" in samples


def test_the_steps_that_clear_a_segment_folder_keep_its_gallery(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    materialize_emails(store)
    materialize_emails(store, recommendations=RECOMMENDATIONS[RECOMMENDATIONS["USER_ID"] == "U1"])
    assert (tmp_path / gallery_key("general")).exists()
    membership = pd.DataFrame({"user_id": ["U1"], "segment": ["general"]})
    profiles = SqliteProfileStore(path=str(tmp_path / "profiles.sqlite"))
    current_customers_served(build_asset_context(), membership, store, profiles)
    kept = sorted(p.name for p in (tmp_path / "emails" / "general").iterdir())
    assert kept == sorted(["index.html", *email_filename(pd.Series(["U1"]))])
    assert stored_segments(store) == {"general"} and gallery_key("general") in segment_outputs(store, "general")


@asset(name="recommendations", partitions_def=segments)
def recommendations_stub():
    return RECOMMENDATIONS


@asset(name="products")
def products_stub():
    return PRODUCTS


@asset(name="users")
def users_stub():
    return USERS


@asset(name="recipients")
def recipients_stub():
    return mailable(USERS)


def run_emails(tmp_path, writer):
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(segments.name, ["general"])
        result = materialize(
            [recommendations_stub, products_stub, users_stub, recipients_stub, emails],
            partition_key="general",
            instance=instance,
            raise_on_error=False,
            resources={"email_writer": writer, "storage": LocalObjectStore(root=str(tmp_path / "home"))},
        )
        checks = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    return result, checks[SENDABLE]


def test_the_bundled_templates_pass_the_sendability_check(tmp_path):
    result, check = run_emails(tmp_path, TemplateEmailWriter(workers=1))
    assert result.success and check.passed
    assert check.metadata["emails_checked"].value == 2 and check.metadata["emails_with_problems"].value == 0


def test_a_template_without_the_frame_fails_the_blocking_check_and_the_run(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "subject.txt.j2").write_text("Hello Amazon Customer, {{ items|length }} picks for you")
    (templates / "email.txt.j2").write_text("Hello Amazon Customer,\n")
    (templates / "email.html.j2").write_text('<html><body><img src="https://img.example/1.jpg"></body></html>')
    result, check = run_emails(tmp_path, TemplateEmailWriter(workers=1, template_dir=str(templates)))
    assert not result.success and not check.passed
    assert check.metadata["emails_with_problems"].value == 2
    problems = check.metadata["problems"].value
    for kind in ("no viewport meta", "an image without alt text", "a placeholder name in the greeting or subject"):
        assert f"| {kind} | 2 | 100.0% |" in problems
    assert Path(tmp_path / "home" / gallery_key("general")).exists()  # the marketer sees what was refused
    assert failure_message(result).startswith(
        "check emails:emails_are_sendable failed: 2 of 2 emails are not sendable: "
    )


def test_the_run_summary_names_each_segments_gallery():
    summary = {
        "input": "in.csv",
        "seconds": 1.0,
        "counts": {"users": 2},
        "emails_written": 2,
        "emails_kept": 0,
        "emails_failed": 0,
        "emails_skipped": 0,
        "skipped_reasons": {},
        "demo_addresses": 0,
        "segments": {"general": {}, "electronics": {}},
        "offline_metrics": {"model": {"precision_at_5": 0.1}},
        "outputs": {"emails": "/home/emails"},
    }
    lines = format_summary(summary).splitlines()
    assert lines[-2:] == [
        "    general              /home/emails/general/index.html",
        "    electronics          /home/emails/electronics/index.html",
    ]
    assert "open one in a browser" in lines[-4]


def test_a_gallery_renders_a_page_of_emails_at_a_time_and_its_index_lists_and_links_every_one(monkeypatch):
    monkeypatch.setattr(gallery, "RENDERED_CARDS", 2)
    cards = [GalleryCard(f"u{i}", f"Name {i}", f"Subject {i}", "", f"<p>email {i}</p>") for i in range(5)]
    asked = []
    pages = list(gallery_pages("general", cards, lambda card: asked.append(card.user_id) or card.html))
    assert [name for name, _ in pages] == ["index.html", "index-2.html", "index-3.html"]
    index, second, third = (parsed(page) for _, page in pages)
    assert [card["data-customer"] for card in index.cards] == ["u0", "u1", "u2", "u3", "u4"]
    assert index.templates == ["<p>email 0</p>", "<p>email 1</p>"]
    assert second.templates == ["<p>email 2</p>", "<p>email 3</p>"] and third.templates == ["<p>email 4</p>"]
    assert asked == ["u0", "u1", "u2", "u3", "u4"]  # each email's HTML once, a page at a time
    anchor = second.cards[0]["id"]
    assert f'href="index-2.html#{anchor}"'.encode() in pages[0][1] and b"(page 2 of 3)" in pages[1][1]


def test_the_emails_asset_writes_every_gallery_page_and_keeps_them(tmp_path, monkeypatch):
    monkeypatch.setattr(gallery, "RENDERED_CARDS", 1)
    result, check = run_emails(tmp_path, TemplateEmailWriter(workers=1))
    folder = tmp_path / "home" / "emails" / "general"
    assert result.success and check.passed and check.metadata["emails_checked"].value == 2
    assert sorted(p.name for p in folder.glob("*.html")) == ["index-2.html", "index.html"]
    assert parsed((folder / "index-2.html").read_bytes()).cards[0]["data-customer"] == "U2"
