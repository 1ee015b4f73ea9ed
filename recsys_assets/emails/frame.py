"""The frame every email is set in: the shop's brand, its postal address and the customer's unsubscribe link.

The frame belongs to the templates, never to the copy, so no writer (a language model included) can drop it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, fields
from datetime import datetime
from email.utils import parseaddr
from string import Formatter
from urllib.parse import quote

import babel
import babel.numbers

# The bundled demo's values: fine for `make run`, refused by anything that sends (docs/emails.md, "Brand").
DEMO_POSTAL_ADDRESS = "Example Shop Ltd, 1 Example Street, Demo City 00000 (a demo address)"
DEMO_UNSUBSCRIBE_SECRET = "demo-unsubscribe-secret"  # nosec B105: the published demo value, refused for sending
TOKEN_CHARS = 32
MIN_SECRET_CHARS = 16
# The filled-in link stays on one header line below SMTP's 998 characters (a key adds at most 64, a token 32)
MAX_UNSUBSCRIBE_URL_CHARS = 800
_ADDRESS = re.compile(r"[^@\s<>\"(),;:\\\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z0-9-]+", re.ASCII)
_URL = re.compile(r"https://[^\s\"'<>]+", re.IGNORECASE)
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Brand:
    """Who sends the email and how it looks; `unsubscribe_url` holds `{customer}` and `{token}`."""

    shop_name: str = "Example Shop"
    sender: str = "Example Shop <news@shop.example>"
    reply_to: str = ""
    logo_url: str = ""
    accent_colour: str = "#0b6e4f"
    postal_address: str = DEMO_POSTAL_ADDRESS
    unsubscribe_url: str = "https://shop.example/unsubscribe?customer={customer}&token={token}"
    unsubscribe_mailto: str = "unsubscribe@shop.example"
    unsubscribe_secret: str = DEMO_UNSUBSCRIBE_SECRET
    currency: str = "INR"
    locale: str = "en_IN"

    def version(self) -> str:
        """Every field that shows in an email; the secret only as a hash, so it never reaches a manifest."""
        secret = hashlib.sha256(self.unsubscribe_secret.encode()).hexdigest()
        fields = [self.shop_name, self.sender, self.reply_to, self.logo_url, self.accent_colour, self.postal_address]
        return "\x1f".join([*fields, self.unsubscribe_url, self.unsubscribe_mailto, secret, self.currency, self.locale])


DEFAULT_BRAND = Brand()
BRAND_FIELDS = tuple(field.name for field in fields(Brand))


def brand_problems(brand: Brand) -> dict[str, str]:
    """Per Brand field whose value no email can be sent with, what is wrong with it (empty: every field is usable)."""
    problems = {
        "shop_name": "" if brand.shop_name.strip() else "is empty",
        "sender": _address_problem(brand.sender, "a sender like Shop <news@shop.example>"),
        "reply_to": _address_problem(brand.reply_to, "an address like Shop <help@shop.example>")
        if brand.reply_to
        else "",
        "logo_url": "" if not brand.logo_url or _URL.fullmatch(brand.logo_url) else "is not an https URL",
        "accent_colour": "" if _COLOUR.fullmatch(brand.accent_colour) else "is not a colour like #0b6e4f",
        "postal_address": "" if brand.postal_address.strip() else "is empty (the law asks for the sender's address)",
        "unsubscribe_url": _unsubscribe_url_problem(brand.unsubscribe_url),
        "unsubscribe_mailto": ""
        if not brand.unsubscribe_mailto or _ADDRESS.fullmatch(brand.unsubscribe_mailto)
        else "is not an address like unsubscribe@shop.example",
        "unsubscribe_secret": ""
        if len(brand.unsubscribe_secret) >= MIN_SECRET_CHARS
        else f"is shorter than {MIN_SECRET_CHARS} characters",
        "currency": "" if brand.currency in babel.numbers.list_currencies() else "is not an ISO 4217 code like INR",
        "locale": _locale_problem(brand.locale),
    }
    return {name: problem for name, problem in problems.items() if problem}


def demo_fields(brand: Brand) -> list[str]:
    """The fields that still hold the bundled demo's values, which no real sending may use."""
    demo = {"postal_address": DEMO_POSTAL_ADDRESS, "unsubscribe_secret": DEMO_UNSUBSCRIBE_SECRET}
    return [name for name, value in demo.items() if getattr(brand, name) == value]


def _address_problem(text: str, expected: str) -> str:
    address = parseaddr(text)[1]
    if _CONTROLS.search(text) or not _ADDRESS.fullmatch(address) or text.count("@") != 1:
        return f"is not {expected}"
    return ""


def _unsubscribe_url_problem(template: str) -> str:
    try:
        names = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as error:
        return f"is not a URL template ({error})"
    if names != {"customer", "token"}:
        return "must hold {customer} and {token}, and no other {field}"
    if not _URL.fullmatch(template):
        return "is not an https URL (RFC 8058 one-click unsubscribe needs https)"
    if len(template) > MAX_UNSUBSCRIBE_URL_CHARS:
        return f"is longer than {MAX_UNSUBSCRIBE_URL_CHARS} characters"
    return ""


def _locale_problem(name: str) -> str:
    try:
        babel.Locale.parse(name)
    except (ValueError, babel.UnknownLocaleError):
        return "is not a locale like en_IN"
    return ""


def parse_email_date(text: str) -> datetime:
    """An ISO 8601 date and time with its UTC offset ('2026-01-15T09:00:00+05:30', 'Z' for UTC) as an aware datetime."""
    try:
        date = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date and time like 2026-01-15T09:00:00+00:00") from None
    if date.utcoffset() is None:
        raise ValueError(f"{text!r} has no UTC offset (add +00:00 or Z)")
    return date


def unsubscribe_token(secret: str, customer_key: str) -> str:
    """HMAC-SHA256 of the customer key under `secret`, as TOKEN_CHARS hex digits: the unsubscribe page checks it."""
    return hmac.new(secret.encode(), customer_key.encode(), hashlib.sha256).hexdigest()[:TOKEN_CHARS]


def unsubscribe_link(brand: Brand, customer_key: str) -> str:
    """The customer's one-click unsubscribe URL (RFC 8058): the brand's template with key and token filled in."""
    token = unsubscribe_token(brand.unsubscribe_secret, customer_key)
    return brand.unsubscribe_url.format(customer=quote(customer_key, safe=""), token=token)


def list_unsubscribe(brand: Brand, customer_key: str) -> str:
    """The List-Unsubscribe header value: the https link, then (when the brand has one) a mailto naming the customer
    in its subject."""
    links = [unsubscribe_link(brand, customer_key)]
    if brand.unsubscribe_mailto:
        links.append(f"mailto:{brand.unsubscribe_mailto}?subject={quote('unsubscribe ' + customer_key)}")
    return ", ".join(f"<{link}>" for link in links)
