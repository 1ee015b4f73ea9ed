import email
import hashlib
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import default
from email.utils import formataddr

import pandas as pd
import pytest

from recsys_assets.emails.render import (
    DEFAULT_SENDER,
    RenderedEmail,
    email_filename,
    email_items,
    format_rupees,
    render_emails,
    safe_url,
    shorten,
    template_environment,
    to_eml,
)


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


def test_rupees_use_indian_digit_grouping_like_the_catalog():
    assert format_rupees(pd.Series([1099.0, 139900.0, 99.5, 12345678.0, None])).tolist() == [
        "₹1,099",
        "₹1,39,900",
        "₹99.50",
        "₹1,23,45,678",
        "",
    ]


def test_html_escapes_every_value_and_text_keeps_it_readable():
    rendered, failures = render_emails(email_items(recommendations(), products()), users(), template_environment())
    assert failures == []
    first = rendered[0]
    assert "<script>" not in first.html and "&lt;script&gt;alert(1)&lt;/script&gt; Mug" in first.html
    assert "Asha &lt;b&gt;K&lt;/b&gt;" in first.html
    assert "javascript:" not in first.html
    assert '<a href="https://shop.example/dp/P1">' in first.html
    assert "1. Steel Water Bottle 1L" in first.text and "<script>alert(1)</script> Mug" in first.text
    assert first.subject == "Asha <b>K</b>, 2 picks for you, starting with Steel Water Bottle 1L"
    assert rendered[1].text.startswith("Hello there,")
    assert "onerror" not in rendered[1].html


def test_eml_is_a_standard_multipart_message_and_deterministic():
    rendered, _ = render_emails(email_items(recommendations(), products()), users(), template_environment())
    raw = to_eml(rendered[0])
    assert raw == to_eml(rendered[0])
    message = email.message_from_bytes(raw, policy=default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"].addresses[0].addr_spec == "u1@customers.example"
    assert message["Subject"] == rendered[0].subject
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered[0].text
    assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered[0].html


def email_package_eml(email: RenderedEmail) -> bytes:
    """The same message built by the email package (MIMEMultipart of two MIMEText parts)."""
    digest = hashlib.sha256(f"{email.user_id}\n{email.subject}\n{email.text}".encode()).hexdigest()[:24]
    message = MIMEMultipart("alternative", boundary=f"=={digest}==")
    message["From"] = DEFAULT_SENDER
    message["To"] = formataddr((email.user_name, f"{email.user_id.lower()}@customers.example"), charset="utf-8")
    message["Subject"] = email.subject if email.subject.isascii() else Header(email.subject, "utf-8")
    message["Message-ID"] = f"<{digest}@customers.example>"
    message.attach(MIMEText(email.text, "plain", "utf-8"))
    message.attach(MIMEText(email.html, "html", "utf-8"))
    return message.as_bytes()


@pytest.mark.parametrize(
    "name, subject, text",
    [
        ("Asha K", "3 picks for you, Asha", "Hello Asha\n" + "long line " * 40),
        ("Rávi Kümar", "Für dich ausgewählt, Rávi: ein sehr langer Betreff, der gefaltet werden muss", "Héllo"),
        ('Doe, "J" (x)', "An ASCII subject line long enough that the header has to be folded over two lines", ""),
        ("N" * 90, "=?utf-8?q?looks_encoded?= but is not", "t\r\nu"),
        ("Ann  Lee", "two  spaces", "😀 " * 50),
        ("A\x0cB", "a\x0bb and \x1c\x1d\x1e", "control characters a model could write"),
        ("", "", ""),
    ],
)
def test_eml_bytes_are_what_the_email_package_writes(name, subject, text):
    rendered = RenderedEmail("U" + "x" * 60, name, subject, text, f"<p>{text}</p>")
    assert to_eml(rendered) == email_package_eml(rendered)


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
    names = email_filename(pd.Series(["AG3D6O4", "../../etc/passwd"]))
    assert names.iloc[0] == "AG3D6O4.eml"
    assert "/" not in names.iloc[1] and names.iloc[1].startswith("______etc_passwd-")


def test_rendering_on_two_processes_gives_the_same_emails_as_one(monkeypatch):
    from recsys_assets.resources import email_writer
    from recsys_assets.resources.email_writer import TemplateEmailWriter

    monkeypatch.setattr(email_writer, "PARALLEL_MIN_USERS", 0)
    monkeypatch.setattr(email_writer, "USERS_PER_CHUNK", 1)
    one = list(TemplateEmailWriter(workers=1).write(recommendations(), products(), users()))
    two = list(TemplateEmailWriter(workers=2).write(recommendations(), products(), users()))
    assert one == two
    assert [[e.user_id for e in batch] for batch, _ in two] == [["U1"], ["U2"]]
