"""The frame every email is set in: the shop's brand, its postal address and the customer's unsubscribe link.

The frame belongs to the templates, never to the copy, so no writer (a language model included) can drop it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

# The bundled demo's values: fine for `make run`, refused by anything that sends (docs/emails.md, "Brand").
DEMO_POSTAL_ADDRESS = "Example Shop Ltd, 1 Example Street, Demo City 00000 (a demo address)"
DEMO_UNSUBSCRIBE_SECRET = "demo-unsubscribe-secret"
TOKEN_CHARS = 32


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


def unsubscribe_token(secret: str, customer_key: str) -> str:
    """HMAC-SHA256 of the customer key under `secret`, as TOKEN_CHARS hex digits: the unsubscribe page checks it."""
    return hmac.new(secret.encode(), customer_key.encode(), hashlib.sha256).hexdigest()[:TOKEN_CHARS]


def unsubscribe_link(brand: Brand, customer_key: str) -> str:
    """The customer's one-click unsubscribe URL (RFC 8058): the brand's template with key and token filled in."""
    token = unsubscribe_token(brand.unsubscribe_secret, customer_key)
    return brand.unsubscribe_url.format(customer=quote(customer_key, safe=""), token=token)


def list_unsubscribe(brand: Brand, customer_key: str) -> str:
    """The List-Unsubscribe header value: the https link, then a mailto naming the customer in its subject."""
    mailto = f"mailto:{brand.unsubscribe_mailto}?subject={quote('unsubscribe ' + customer_key)}"
    return f"<{unsubscribe_link(brand, customer_key)}>, <{mailto}>"
