"""Who an email goes to: each customer's key (the local part of their address and the name of their .eml file)
and their address, derived from the user id alone and never pasted from it."""

from __future__ import annotations

import hashlib
import re

import pandas as pd

# A plain id keeps itself; it cannot contain the separator, so it never equals another id's slug form.
PLAIN_ID = r"[a-z0-9][a-z0-9_-]{0,63}"
SEPARATOR = "."
SLUG_CHARS = 32
DIGEST_CHARS = 16
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*", re.ASCII)


def customer_keys(user_ids: pd.Series) -> pd.Series:
    """Per user id, a lower-case ASCII dot-atom of at most 64 characters, distinct for distinct ids (also ignoring
    case): a plain id (`u123`) as it is, any other as `<slug>.<16 hex of sha256(id)>` (`José` -> `jose.…`)."""
    ids = user_ids.astype("string").fillna("").reset_index(drop=True)
    plain = ids.str.fullmatch(PLAIN_ID).fillna(False).astype(bool)
    other = ids[~plain]
    ascii_text = other.str.normalize("NFKD").str.replace(r"[^\x00-\x7f]", "", regex=True).str.lower()
    slug = ascii_text.str.replace(r"[^a-z0-9_]+", "-", regex=True).str.strip("-_").str.slice(0, SLUG_CHARS)
    slug = slug.str.rstrip("-_").replace("", "id")
    digest = other.map(lambda user_id: hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest())
    keys = ids.copy()
    keys[~plain] = slug + SEPARATOR + digest.str.slice(0, DIGEST_CHARS)
    return keys.set_axis(user_ids.index)


def customer_addresses(user_ids: pd.Series, domain: str) -> pd.Series:
    """Per user id, the address its email goes to: `<customer key>@<domain>` (the one place that decides it)."""
    if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain):
        raise ValueError(f"recipient domain {domain!r} is not a domain name (like customers.example)")
    return customer_keys(user_ids) + "@" + domain.lower()
