"""The frame of every email: sender, Date, Message-ID, one-click unsubscribe headers and link, and the settings."""

import email
import hashlib
import hmac
import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import default
from email.utils import format_datetime, formataddr, parsedate_to_datetime

import pandas as pd
import pytest
from dagster import AssetExecutionContext, asset, build_asset_context, materialize

from recsys_assets.defs.marketing.assets import emails
from recsys_assets.emails.frame import DEFAULT_BRAND, Brand, list_unsubscribe, unsubscribe_link, unsubscribe_token
from recsys_assets.emails.recipients import customer_keys
from recsys_assets.emails.render import (
    MAX_NAME_CHARS,
    MAX_SUBJECT_CHARS,
    RenderedEmail,
    email_items,
    header_text,
    render_emails,
    template_environment,
    to_eml,
)
from recsys_assets.environment import RunOptions, SettingsError, build_resources
from recsys_assets.resources.email_writer import EmailWriter, TemplateEmailWriter
from recsys_assets.resources.object_store import LocalObjectStore

from .conftest import EMAIL_DATE, PRODUCTS, mailable, own_addresses
from .conftest import RECOMMENDATIONS_U1_U2 as RECOMMENDATIONS
from .conftest import USERS_U1_U2 as USERS

SHOP = Brand(
    sender="Priya's Shop <news@mail.priya.example>",
    reply_to="Help Desk <help@priya.example>",
    postal_address="Priya's Shop Pvt Ltd, 12 MG Road, Bengaluru 560001",
    unsubscribe_url="https://priya.example/u/{customer}/{token}",
    unsubscribe_mailto="leave@priya.example",
    unsubscribe_secret="a-long-production-secret",
)


def packaged(brand: Brand, user_id: str = "U1", date: datetime = EMAIL_DATE) -> email.message.EmailMessage:
    """The one email the template writer packages for `user_id` in `brand`, parsed back."""
    recommendations = RECOMMENDATIONS[RECOMMENDATIONS["USER_ID"] == "U1"].assign(USER_ID=user_id)
    users = USERS.iloc[:1].assign(user_id=user_id)
    writer = TemplateEmailWriter(workers=1, **brand.__dict__)
    [(batch, failures)] = writer.write(recommendations, PRODUCTS, users, own_addresses([user_id]), date)
    assert failures == [] and len(batch) == 1
    return email.message_from_bytes(batch[0].eml, policy=default)


def expected_token(secret: str, key: str) -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()[:32]


def test_every_frame_header_is_there_and_says_what_the_brand_and_the_run_say():
    message = packaged(SHOP, "AG3D6O4STAQKAY2UVGEUV46KN35Q")
    key = customer_keys(pd.Series(["AG3D6O4STAQKAY2UVGEUV46KN35Q"])).iloc[0]
    assert message["From"] == "Priya's Shop <news@mail.priya.example>"
    assert message["Reply-To"] == "Help Desk <help@priya.example>"
    assert message["To"].addresses[0].addr_spec == f"{key}@customers.example"
    assert parsedate_to_datetime(message["Date"]) == EMAIL_DATE and message["Date"] == "Thu, 15 Jan 2026 09:30:00 +0000"
    assert message["Message-ID"].endswith("@mail.priya.example>")
    link = f"https://priya.example/u/{key}/{expected_token(SHOP.unsubscribe_secret, key)}"
    # folded after the field name when the first link does not fit on its line: unfolded, the value is exact
    assert message["List-Unsubscribe"].strip() == f"<{link}>, <mailto:leave@priya.example?subject=unsubscribe%20{key}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Precedence"] == "bulk"


def test_reply_to_is_written_only_when_the_brand_has_one():
    assert "Reply-To" not in packaged(replace(SHOP, reply_to=""))
    assert packaged(SHOP)["Reply-To"] == "Help Desk <help@priya.example>"


def test_without_a_mailto_the_header_offers_the_https_link_alone():
    header = packaged(replace(SHOP, unsubscribe_mailto=""), "u1")["List-Unsubscribe"].strip()
    assert header == f"<https://priya.example/u/u1/{expected_token(SHOP.unsubscribe_secret, 'u1')}>"


def test_the_token_is_an_hmac_of_the_customer_key_and_differs_per_customer_and_per_secret():
    assert unsubscribe_token("s" * 16, "u1") == expected_token("s" * 16, "u1")
    tokens = {unsubscribe_token(secret, key) for secret in ("s" * 16, "t" * 16) for key in ("u1", "u2")}
    assert len(tokens) == 4
    key = "jose.24c2ab65b7adab7e"
    assert (
        unsubscribe_link(SHOP, key) == f"https://priya.example/u/{key}/{expected_token(SHOP.unsubscribe_secret, key)}"
    )


def test_the_templates_get_the_same_unsubscribe_link_as_the_header(tmp_path):
    (tmp_path / "subject.txt.j2").write_text("Picks from {{ brand.shop_name }}")
    (tmp_path / "email.txt.j2").write_text("{{ brand.postal_address }} {{ unsubscribe_url }}")
    (tmp_path / "email.html.j2").write_text('<a href="{{ unsubscribe_url }}">Unsubscribe</a>')
    items = email_items(RECOMMENDATIONS, PRODUCTS)
    rendered, failures = render_emails(items, USERS, template_environment(tmp_path), brand=SHOP)
    assert failures == [] and [e.customer_key for e in rendered] == customer_keys(USERS["user_id"]).tolist()
    for sent in rendered:
        message = email.message_from_bytes(to_eml(sent, "x@customers.example", SHOP, EMAIL_DATE), policy=default)
        link = message["List-Unsubscribe"].strip().split(">")[0][1:]
        assert sent.text == f"{SHOP.postal_address} {link}" and sent.html == f'<a href="{link}">Unsubscribe</a>'
    assert rendered[0].subject == "Picks from Example Shop"


def test_the_date_is_the_given_moment_in_its_own_offset_and_a_naive_date_is_refused():
    email_ = RenderedEmail("u1", "Asha", "Picks", "Hello", "<p>Hello</p>")
    india = EMAIL_DATE.astimezone(timezone(timedelta(hours=5, minutes=30))).replace(microsecond=123)
    message = email.message_from_bytes(to_eml(email_, "u1@customers.example", SHOP, india), policy=default)
    assert message["Date"] == "Thu, 15 Jan 2026 15:00:00 +0530" and parsedate_to_datetime(message["Date"]) == EMAIL_DATE
    with pytest.raises(ValueError, match="no timezone"):
        to_eml(email_, "u1@customers.example", SHOP, EMAIL_DATE.replace(tzinfo=None))


def test_a_long_unsubscribe_link_is_folded_and_reads_back_whole():
    brand = replace(SHOP, unsubscribe_url="https://priya.example/" + "u" * 700 + "?c={customer}&t={token}")
    key = "ag3d6o4staqkay2uvgeuv46kn35q.86a12c1b5db8c282"
    eml = to_eml(
        RenderedEmail("x", "Asha", "Picks", "Hello", "<p>Hello</p>", customer_key=key), "a@b.example", brand, EMAIL_DATE
    )
    head = eml.split(b"\n\n", 1)[0]
    assert max(len(line) for line in head.split(b"\n")) <= 998
    assert email.message_from_bytes(eml, policy=default)["List-Unsubscribe"].strip() == list_unsubscribe(brand, key)


# --- byte for byte what the email package writes -------------------------------------------------------------


def email_package_eml(rendered: RenderedEmail, recipient: str, brand: Brand) -> bytes:
    """The same message built by the email package (MIMEMultipart of two MIMEText parts)."""
    name = header_text(rendered.user_name, MAX_NAME_CHARS)
    subject = header_text(rendered.subject, MAX_SUBJECT_CHARS)
    dated = format_datetime(EMAIL_DATE)
    digest = hashlib.sha256(f"{recipient}\n{subject}\n{dated}\n{rendered.text}\n{rendered.html}".encode()).hexdigest()[
        :24
    ]
    key = customer_keys(pd.Series([rendered.user_id])).iloc[0]
    message = MIMEMultipart("alternative", boundary=f"=={digest}==")
    message["From"] = formataddr(email.utils.parseaddr(brand.sender), charset="utf-8")
    message["To"] = formataddr((name, recipient), charset="utf-8")
    if brand.reply_to:
        message["Reply-To"] = formataddr(email.utils.parseaddr(brand.reply_to), charset="utf-8")
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    message["Date"] = dated
    message["Message-ID"] = f"<{digest}@{brand.sender.rpartition('@')[2].rstrip('>')}>"
    message["List-Unsubscribe"] = list_unsubscribe(brand, key)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Precedence"] = "bulk"
    message.attach(MIMEText(rendered.text, "plain", "utf-8"))
    message.attach(MIMEText(rendered.html, "html", "utf-8"))
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
@pytest.mark.parametrize(
    "brand", [DEFAULT_BRAND, SHOP, replace(SHOP, sender='"Café Ünïcode, Ltd" <news@cafe.example>')]
)
def test_eml_bytes_are_what_the_email_package_writes(name, subject, text, brand):
    rendered = RenderedEmail("U" + "x" * 60, name, subject, text, f"<p>{text}</p>")
    recipient = own_addresses([rendered.user_id]).iloc[0]
    assert to_eml(rendered, recipient, brand, EMAIL_DATE) == email_package_eml(rendered, recipient, brand)


# --- settings ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("RECSYS_UNSUBSCRIBE_URL", "https://shop.example/u?c={customer}", "must hold {customer} and {token}"),
        ("RECSYS_UNSUBSCRIBE_URL", "https://shop.example/u/{customer}/{token}/{campaign}", "and no other"),
        ("RECSYS_UNSUBSCRIBE_URL", "http://shop.example/u/{customer}/{token}", "not an https URL"),
        ("RECSYS_UNSUBSCRIBE_URL", "https://shop.example/u/{customer}/{token", "not a URL template"),
        ("RECSYS_UNSUBSCRIBE_URL", "https://shop.example/" + "u" * 800 + "/{customer}/{token}", "longer than 800"),
        ("RECSYS_FROM", "Example Shop", "is not a sender like"),
        ("RECSYS_FROM", "Shop <news@shop.example>\r\nBcc: victim@evil.example", "is not a sender like"),
        ("RECSYS_FROM", "Shop, Ltd <news@shop.example>", "is not a sender like"),
        ("RECSYS_REPLY_TO", "help desk", "is not an address like"),
        ("RECSYS_UNSUBSCRIBE_MAILTO", "Shop <leave@shop.example>", "is not an address like"),
        ("RECSYS_LOGO_URL", "javascript:alert(1)", "is not an https URL"),
        ("RECSYS_ACCENT_COLOUR", "green", "is not a colour like #0b6e4f"),
        ("RECSYS_ACCENT_COLOUR", "#0b6e4", "is not a colour like #0b6e4f"),
        ("RECSYS_CURRENCY", "RUP", "is not an ISO 4217 code"),
        ("RECSYS_LOCALE", "xx_YY", "is not a locale"),
        ("RECSYS_POSTAL_ADDRESS", "  ", "is empty"),
        ("RECSYS_SHOP_NAME", "", "is empty"),
        ("RECSYS_EMAIL_DATE", "2026-01-15 09:00", "has no UTC offset"),
        ("RECSYS_EMAIL_DATE", "next monday", "is not an ISO 8601 date"),
    ],
)
def test_a_brand_setting_no_email_can_be_sent_with_is_a_settings_error_naming_it(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"{variable}.*{message.replace('{', '[{]').replace('(', '[(]')}"):
        RunOptions.from_environment()


def test_a_short_unsubscribe_secret_is_refused_without_being_shown(monkeypatch):
    monkeypatch.setenv("RECSYS_UNSUBSCRIBE_SECRET", "hunter2")
    with pytest.raises(SettingsError, match="RECSYS_UNSUBSCRIBE_SECRET is shorter than 16") as error:
        build_resources(RunOptions.from_environment())
    assert "hunter2" not in str(error.value)


def test_the_brand_settings_reach_the_writer_and_the_secret_comes_from_the_environment_in_the_run(monkeypatch):
    settings = {
        "RECSYS_SHOP_NAME": "Priya's Shop",
        "RECSYS_FROM": "Priya's Shop <news@mail.priya.example>",
        "RECSYS_REPLY_TO": "help@priya.example",
        "RECSYS_ACCENT_COLOUR": "#aa3300",
        "RECSYS_POSTAL_ADDRESS": "12 MG Road, Bengaluru",
        "RECSYS_CURRENCY": "EUR",
        "RECSYS_LOCALE": "de_DE",
        "RECSYS_EMAIL_DATE": "2026-01-15T15:00:00+05:30",
        "RECSYS_UNSUBSCRIBE_SECRET": "the-secret-of-the-deployment",
    }
    for variable, value in settings.items():
        monkeypatch.setenv(variable, value)
    writer = build_resources(RunOptions.from_environment())["email_writer"]
    assert (writer.shop_name, writer.reply_to, writer.currency, writer.locale) == (
        "Priya's Shop",
        "help@priya.example",
        "EUR",
        "de_DE",
    )
    assert writer.unsubscribe_secret != "the-secret-of-the-deployment"  # an EnvVar, resolved only in a run

    @asset
    def frame(context: AssetExecutionContext, email_writer: EmailWriter) -> tuple:
        return email_writer.brand(), email_writer.date_for(context)

    result = materialize([frame], resources={"email_writer": writer})
    brand, date = result.output_for_node("frame")
    assert (
        brand.unsubscribe_secret == "the-secret-of-the-deployment" and brand.postal_address == "12 MG Road, Bengaluru"
    )
    assert date == EMAIL_DATE


def test_an_unpinned_date_is_the_runs_start_in_whole_utc_seconds():
    @asset
    def started(context: AssetExecutionContext, email_writer: EmailWriter) -> tuple:
        return email_writer.date_for(context), context.instance.get_run_record_by_id(context.run_id).start_time

    date, start_time = materialize([started], resources={"email_writer": TemplateEmailWriter()}).output_for_node(
        "started"
    )
    assert date == datetime.fromtimestamp(int(start_time), timezone.utc) and date.tzinfo == timezone.utc


@pytest.mark.parametrize(
    "field, value",
    [
        ("shop_name", "Other Shop"),
        ("sender", "Other <news@other.example>"),
        ("reply_to", "help@shop.example"),
        ("logo_url", "https://shop.example/logo.png"),
        ("accent_colour", "#123456"),
        ("postal_address", "2 Other Street"),
        ("unsubscribe_url", "https://shop.example/leave/{customer}/{token}"),
        ("unsubscribe_mailto", "leave@shop.example"),
        ("unsubscribe_secret", "another-secret-of-16"),
        ("currency", "EUR"),
        ("locale", "de_DE"),
    ],
)
def test_changing_any_brand_setting_changes_the_writers_version_and_the_date_does_not(field, value):
    assert set(DEFAULT_BRAND.__dict__) == {
        "shop_name",
        "sender",
        "reply_to",
        "logo_url",
        "accent_colour",
        "postal_address",
        "unsubscribe_url",
        "unsubscribe_mailto",
        "unsubscribe_secret",
        "currency",
        "locale",
    }
    base = TemplateEmailWriter()
    assert TemplateEmailWriter(**{field: value}).version() != base.version()
    assert TemplateEmailWriter(email_date="2030-01-01T00:00:00Z").version() == base.version()
    assert "another-secret-of-16" not in TemplateEmailWriter(**{field: value}).version()


def test_a_writer_configured_with_a_bad_brand_refuses_to_write():
    with pytest.raises(ValueError, match="email writer's accent_colour is not a colour"):
        TemplateEmailWriter(accent_colour="red").version()


def test_the_demo_postal_address_and_secret_are_warned_about(caplog):
    with caplog.at_level(logging.WARNING):
        TemplateEmailWriter().framed_brand()
        TemplateEmailWriter(postal_address="2 Real Street", unsubscribe_secret="a-real-secret-value").framed_brand()
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        "the emails use the demo postal address: set RECSYS_POSTAL_ADDRESS before sending any",
        "the emails use the demo unsubscribe secret: set RECSYS_UNSUBSCRIBE_SECRET before sending any",
    ]


def test_a_kept_email_keeps_the_date_it_was_written_with(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))

    def run(date: str):
        writer = TemplateEmailWriter(workers=1, email_date=date)
        context = build_asset_context(partition_key="general")
        return emails(context, RECOMMENDATIONS, PRODUCTS, USERS, mailable(USERS), writer, store)

    assert run("2026-01-15T09:30:00Z").metadata["emails_written"] == 2
    again = run("2026-02-01T09:30:00Z")
    assert (again.metadata["emails_written"], again.metadata["emails_reused"]) == (0, 2)
    dates = {
        email.message_from_bytes(path.read_bytes(), policy=default)["Date"]
        for path in (tmp_path / "emails" / "general").glob("*.eml")
    }
    assert dates == {"Thu, 15 Jan 2026 09:30:00 +0000"}
