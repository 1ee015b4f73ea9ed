import email
import hashlib
import re
from email.policy import default

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_assets.emails.frame import DEFAULT_BRAND
from recsys_assets.emails.recipients import customer_keys
from recsys_assets.emails.render import (
    MAX_NAME_CHARS,
    MAX_SUBJECT_CHARS,
    RenderedEmail,
    email_filename,
    email_items,
    format_price,
    header_text,
    render_emails,
    safe_url,
    shorten,
    template_environment,
    to_eml,
)
from recsys_assets.resources.email_writer import TemplateEmailWriter

from .conftest import EMAIL_DATE, own_addresses

# RFC 5322 dot-atom: atoms of atext joined by single dots
DOT_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"


def products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3"],
            "product_name": ["Steel Water Bottle 1L", "<script>alert(1)</script> Mug", "Cotton Bedsheet"],
            "discounted_price": [1099.0, 250.5, 399.0],
            "actual_price": [2000.0, 250.5, 999.0],
            "discount_percentage": [45.0, 0.0, 60.0],
            "rating": [4.3, 3.9, float("nan")],
            "product_link": ["https://shop.example/dp/P1", "javascript:alert(1)", "https://shop.example/dp/P3"],
            "img_link": ["https://img.example/p1.jpg", "https://img.example/p2.jpg", 'http://x" onerror="y'],
        }
    )


def recommendations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USER_ID": ["U1", "U1", "U2"],
            "RANK": [2, 1, 1],
            "ITEM_ID": ["P2", "P1", "P3"],
            "SCORE": [0.5, 0.9, 0.1],
            "SOURCE": ["als", "als", "popularity"],
            "REASON_ITEM_ID": ["P3", "P3", None],
            "REASON_CATEGORY": [None, None, "Home&Kitchen"],
        }
    )


def users() -> pd.DataFrame:
    return pd.DataFrame({"user_id": ["U1", "U2"], "user_name": ["Asha <b>K</b>", ""]})


def test_display_values_are_formatted_and_reasons_come_from_the_model():
    items = email_items(recommendations(), products())
    assert items[["user_id", "rank", "price", "list_price", "discount", "rating", "reason"]].values.tolist() == [
        ["U1", 1, "₹1,099", "₹2,000", "45%", "4.3", "Because you reviewed Cotton Bedsheet"],
        ["U1", 2, "₹250.50", "₹250.50", "", "3.9", "Because you reviewed Cotton Bedsheet"],
        ["U2", 1, "₹399", "₹999", "60%", "", "Popular in Home & Kitchen"],
    ]


def test_only_http_links_survive():
    assert safe_url(
        pd.Series(["https://a.example/x", "javascript:alert(1)", 'http://a" onerror="x', None])
    ).tolist() == ["https://a.example/x", "", "", ""]


def test_long_names_are_cut_on_a_word_boundary():
    name = "Ambrane Unbreakable 60W Fast Charging Braided Type C Cable for Smartphones"
    assert shorten(pd.Series([name, "Short"]), limit=30).tolist() == ["Ambrane Unbreakable 60W Fast…", "Short"]


@pytest.mark.parametrize(
    "currency, locale, texts",
    [
        ("INR", "en_IN", ["₹1,099", "₹1,39,900", "₹99.50", "₹1,23,45,678", ""]),
        ("EUR", "de_DE", ["1.099\xa0€", "139.900\xa0€", "99,50\xa0€", "12.345.678\xa0€", ""]),
        ("USD", "en_US", ["$1,099", "$139,900", "$99.50", "$12,345,678", ""]),
    ],
)
def test_prices_are_written_in_the_catalogs_currency_and_locale(currency, locale, texts):
    assert format_price(pd.Series([1099.0, 139900.0, 99.5, 12345678.0, None]), currency, locale).tolist() == texts


def test_html_escapes_every_value_and_text_keeps_it_readable():
    rendered, failures = render_emails(email_items(recommendations(), products()), users(), template_environment())
    assert failures == []
    first = rendered[0]
    assert "<script>" not in first.html and "&lt;script&gt;alert(1)&lt;/script&gt; Mug" in first.html
    assert "<b>" not in first.html and "Hi there," in first.html  # a name with markup is not greeted
    assert "javascript:" not in first.html
    assert '<a href="https://shop.example/dp/P1" ' in first.html
    assert "- Steel Water Bottle 1L" in first.text and "- <script>alert(1)</script> Mug" in first.text
    assert first.subject == "Picked for you: Steel Water Bottle 1L and 1 more"
    assert rendered[1].text.splitlines()[2] == "Hi there,"
    assert "onerror" not in rendered[1].html


def test_eml_is_a_standard_multipart_message_and_deterministic():
    rendered, _ = render_emails(email_items(recommendations(), products()), users(), template_environment())
    raw = to_eml(rendered[0], "u1@customers.example", DEFAULT_BRAND, EMAIL_DATE)
    assert raw == to_eml(rendered[0], "u1@customers.example", DEFAULT_BRAND, EMAIL_DATE)
    message = email.message_from_bytes(raw, policy=default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"].addresses[0].addr_spec == "u1@customers.example"
    assert message["Subject"] == rendered[0].subject
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered[0].text
    assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered[0].html


def test_one_users_rendering_failure_spares_the_others(tmp_path):
    (tmp_path / "subject.txt.j2").write_text("{{ items[0].name }}")
    (tmp_path / "email.txt.j2").write_text("{{ items[1].name }}")
    (tmp_path / "email.html.j2").write_text("<p>{{ items[0].name }}</p>")
    rendered, failures = render_emails(
        email_items(recommendations(), products()), users(), template_environment(tmp_path)
    )
    assert [e.user_id for e in rendered] == ["U1"]
    assert [f.user_id for f in failures] == ["U2"] and "UndefinedError" in failures[0].reason


def test_file_names_cannot_escape_the_email_folder():
    assert email_filename(pd.Series(["u1", "../../etc/passwd"])).tolist() == [
        "u1.eml",
        "etc-passwd." + hashlib.sha256(b"../../etc/passwd").hexdigest()[:16] + ".eml",
    ]


@pytest.mark.parametrize(
    "user_id, key",
    [
        ("u123", "u123"),
        ("ag3d6o4stbdyqkd5", "ag3d6o4stbdyqkd5"),
        ("a_b-c14cddc0", "a_b-c14cddc0"),
        ("AG3D6O4STAQKAY2UVGEUV46KN35Q", "ag3d6o4staqkay2uvgeuv46kn35q.{}"),
        ("José", "jose.{}"),
        ("a/b", "a-b.{}"),
        ("victim@evil.com>", "victim-evil-com.{}"),
        ("Ann Lee", "ann-lee.{}"),
        ("x" * 250, "x" * 32 + ".{}"),
        ("日本", "id.{}"),
        ("", "id.{}"),
    ],
)
def test_a_plain_id_is_its_own_key_and_any_other_gets_a_slug_and_a_digest(user_id, key):
    digest = hashlib.sha256(user_id.encode()).hexdigest()[:16]
    assert customer_keys(pd.Series([user_id])).tolist() == [key.format(digest)]


def test_ids_that_shared_a_file_no_longer_do():
    ids = pd.Series(["a/b", "a_b-c14cddc0", "Abc", "abc"])
    names = email_filename(ids)
    assert names.str.lower().nunique() == 4  # also on a case-insensitive file system


ids = st.one_of(st.text(max_size=300), st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,70}", fullmatch=True))


@settings(max_examples=80, deadline=None)
@given(st.lists(ids, min_size=1, max_size=6))
def test_every_key_is_a_short_ascii_dot_atom_of_its_id_alone_and_no_two_ids_share_one(drawn):
    user_ids = list(dict.fromkeys(drawn + [i.upper() for i in drawn] + [i + ".x" for i in drawn]))
    keys = customer_keys(pd.Series(user_ids, dtype="string"))
    assert keys.str.lower().nunique() == len(user_ids)  # distinct, also on a case-insensitive file system
    assert all(re.fullmatch(DOT_ATOM, key) and key.isascii() and len(key) <= 64 for key in keys)
    assert customer_keys(pd.Series(user_ids[::-1])).tolist() == keys.tolist()[::-1]  # the id alone decides


def packaged_for(user_id: str, user_name: str) -> email.message.EmailMessage:
    """The one email the template writer packages for `user_id` (recommended P1), parsed back."""
    recommendation = recommendations().iloc[[1]].assign(USER_ID=user_id)
    who = pd.DataFrame({"user_id": [user_id], "user_name": [user_name]})
    [(batch, failures)] = TemplateEmailWriter(workers=1).write(
        recommendation, products(), who, own_addresses([user_id]), EMAIL_DATE
    )
    assert failures == [] and len(batch) == 1
    return email.message_from_bytes(batch[0].eml, policy=default)


def assert_addressed_only_to(message: email.message.EmailMessage, user_id: str) -> None:
    own = own_addresses([user_id]).iloc[0]
    assert [a.addr_spec for a in message["To"].addresses] == [own]
    assert message.keys() == [
        "Content-Type",
        "MIME-Version",
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "Precedence",
    ]


@pytest.mark.parametrize("user_id", ["victim@evil.com>", "x>, victim@evil.com", '"v"@evil.com', "José", "Abc"])
def test_a_user_id_never_chooses_the_recipient(user_id):
    message = packaged_for(user_id, "Arjun Malik")
    assert_addressed_only_to(message, user_id)
    assert message["To"].addresses[0].domain == "customers.example"


@pytest.mark.parametrize(
    "name",
    [
        "Eve\nInjected line",
        "Eve\r\nBcc: x@evil.com",
        "Eve\rBcc: x@evil.com",
        "Eve\u2028Bcc: x@evil.com",
        "Eve\x85Bcc:\x0bx@evil.com",
        "Eve\x1c\x1d\x1e\x0c\x00Injected line",
    ],
)
def test_a_line_break_or_control_in_a_name_makes_no_header_and_no_greeting_line(name):
    message = packaged_for("u1", name)
    assert_addressed_only_to(message, "u1")
    assert message["To"].addresses[0].display_name == header_text(name) and "Bcc" not in message
    assert message["Subject"] == "Eve, picked for you: Steel Water Bottle 1L"
    lines = message.get_body(("plain",)).get_content().splitlines()
    assert lines[2] == "Hi Eve," and not any(line.startswith(("Bcc", "Injected")) for line in lines)


@settings(max_examples=25, deadline=None)
@given(user_id=st.text(min_size=1, max_size=80), user_name=st.text(max_size=80))
def test_whatever_the_id_and_name_the_email_goes_to_the_customers_own_address_only(user_id, user_name):
    message = packaged_for(user_id, user_name)
    assert_addressed_only_to(message, user_id)
    assert message["To"].addresses[0].display_name == header_text(user_name, MAX_NAME_CHARS)


def test_a_long_unbroken_name_or_subject_makes_no_header_line_longer_than_smtp_takes():
    long = RenderedEmail("u1", "N" * 5_000, "S" * 3_000 + " é", "Hello", "<p>Hello</p>")
    eml = to_eml(long, "u1@customers.example", DEFAULT_BRAND, EMAIL_DATE)
    head = eml.split(b"\n\n", 1)[0]
    assert max(len(line) for line in head.split(b"\n")) <= 998
    message = email.message_from_bytes(eml, policy=default)
    assert message["To"].addresses[0].display_name == "N" * (MAX_NAME_CHARS - 1) + "…"
    assert len(message["Subject"]) == MAX_SUBJECT_CHARS and message["Subject"].endswith("S…")
    assert header_text("many short words " * 20, 30) == "many short words many short…"


def test_header_text_collapses_every_line_break_and_control_to_one_space():
    breaks = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029\x00\x07\x1b\x7f\t"
    assert header_text(f" a{breaks}b \r\n c ") == "a b c"


def test_the_message_id_is_stable_and_differs_between_customers_with_the_same_email():
    same = [RenderedEmail(user, "Asha", "Picks", "Hello", "<p>Hello</p>") for user in ("Abc", "abc")]
    addresses = own_addresses([e.user_id for e in same])
    ids = [
        email.message_from_bytes(to_eml(e, a, DEFAULT_BRAND, EMAIL_DATE), policy=default)["Message-ID"]
        for e, a in zip(same, addresses)
    ]
    assert ids[0] != ids[1] and ids[0].endswith("@shop.example>")
    assert to_eml(same[0], addresses.iloc[0], DEFAULT_BRAND, EMAIL_DATE) == to_eml(
        same[0], addresses.iloc[0], DEFAULT_BRAND, EMAIL_DATE
    )


def test_rendering_on_two_processes_gives_the_same_emails_as_one(monkeypatch):
    from recsys_assets.resources import email_writer
    from recsys_assets.resources.email_writer import TemplateEmailWriter

    monkeypatch.setattr(email_writer, "PARALLEL_MIN_USERS", 0)
    monkeypatch.setattr(email_writer, "USERS_PER_CHUNK", 1)
    to = own_addresses(["U1", "U2"])
    one = list(TemplateEmailWriter(workers=1).write(recommendations(), products(), users(), to, EMAIL_DATE))
    two = list(TemplateEmailWriter(workers=2).write(recommendations(), products(), users(), to, EMAIL_DATE))
    assert one == two
    assert [[e.user_id for e in batch] for batch, _ in two] == [["U1"], ["U2"]]
