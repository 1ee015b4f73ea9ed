"""Who an email goes to: each customer's key (the name of their .eml file, from the user id alone) and whether they may
be written to at their own address (`recipient_reasons`)."""

from __future__ import annotations

import hashlib
from typing import Literal, get_args

import numpy as np
import pandas as pd

from recsys_assets.formats.tables import OPTED_IN, UNSUBSCRIBED

# A plain id keeps itself; it cannot contain the separator, so it never equals another id's slug form.
PLAIN_ID = r"[a-z0-9][a-z0-9_-]{0,63}"
SEPARATOR = "."
SLUG_CHARS = 32
DIGEST_CHARS = 16
# RFC 5322 dot-atom local part (atext; no quoted string, comment or obsolete form) @ a host name of LDH labels with at
# least one dot (RFC 1035), its top-level label starting with a letter; ASCII only. Matched by Arrow (RE2), so no
# lookarounds: the RFC 5321 4.5.3.1 lengths (local part 64, address 254) are checked apart.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDR_SPEC = rf"{_ATEXT}(?:\.{_ATEXT})*@(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
MAX_LOCAL_CHARS, MAX_ADDRESS_CHARS = 64, 254
# "opted-in": consent "opted_in" only; "not-unsubscribed": an unknown consent ("") too (the soft opt-in).
ConsentRule = Literal["opted-in", "not-unsubscribed"]
CONSENT_RULES = get_args(ConsentRule)
# Why a customer gets no email, in the order they are named (the first that applies); "" : they may be written to.
NO_ADDRESS, INVALID_ADDRESS, UNSUBSCRIBED_REASON, NO_CONSENT, SUPPRESSED = (
    "no address",
    "invalid address",
    "unsubscribed",
    "no consent",
    "suppressed",
)
# Another customer id with the same address (any case) that may be written to: one email per address.
SHARED_ADDRESS = "address of another customer"
REASONS = (NO_ADDRESS, INVALID_ADDRESS, UNSUBSCRIBED_REASON, NO_CONSENT, SUPPRESSED, SHARED_ADDRESS)
RECIPIENT_COLUMNS = ("user_id", "email", "reason")
# RFC 2606's reserved names: these top-level domains and these second-level domains (and their subdomains) reach no one.
EXAMPLE_DOMAINS = r"(?:^|\.)(?:example|test|invalid|localhost|example\.com|example\.net|example\.org)$"


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


def normalized_addresses(emails: pd.Series) -> pd.Series:
    """Each address stripped of surrounding whitespace, its domain (after the last @) lower-cased; "" where missing."""
    text = _arrow_text(emails).str.strip()
    local = text.str.replace(r"(?s)@[^@]*$", "", regex=True)
    domain = text.str.replace(r"(?s)^.*@", "", regex=True).str.lower()
    return (local + "@" + domain).where(text.str.contains("@", regex=False), text).astype("string")


def valid_addresses(addresses: pd.Series) -> pd.Series:
    """Whether each address, as it is, is a plain addr-spec an email can be sent to (ADDR_SPEC and its lengths): no
    display name, comment, quoted local part, address literal, whitespace, control character, comma or second @,
    and a domain with a dot."""
    text = _arrow_text(addresses)
    local_chars = text.str.replace(r"(?s)@[^@]*$", "", regex=True).str.len()
    shaped = text.str.fullmatch(ADDR_SPEC) & local_chars.le(MAX_LOCAL_CHARS) & text.str.len().le(MAX_ADDRESS_CHARS)
    return shaped.fillna(False).astype(bool)


def _arrow_text(values: pd.Series) -> pd.Series:
    """Text as Arrow strings ("" where missing), whose regular expressions run in C++ (RE2), not per value."""
    return values.astype("string[pyarrow]").fillna("")


def recipient_reasons(
    users: pd.DataFrame, suppressions: pd.DataFrame, consent_rule: ConsentRule = "opted-in"
) -> pd.DataFrame:
    """Per customer of `users` (user_id, email, consent), RECIPIENT_COLUMNS: the normalized address and "" when they
    may be written to, else the first of REASONS that applies. A suppression (SUPPRESSION_COLUMNS) by email (any
    case) or by user_id, or an address another customer id unsubscribed, always wins over consent; `consent_rule`
    "opted-in" needs consent "opted_in", "not-unsubscribed" (the soft opt-in of existing customers) takes an unknown
    consent ("") too. Of customers sharing an address, the smallest user id gets the email."""
    if consent_rule not in CONSENT_RULES:
        raise ValueError(f"consent rule {consent_rule!r} is not one of {', '.join(CONSENT_RULES)}")
    email = normalized_addresses(users["email"])
    consent = users["consent"].astype("string").fillna("")
    suppressed_emails = suppressions["email"].astype("string").fillna("").str.strip().str.lower()
    suppressed_ids = suppressions["user_id"].astype("string").fillna("").str.strip()
    # an address one customer unsubscribed is unsubscribed for every customer id that shares it
    unsubscribed_emails = set(email[consent.eq(UNSUBSCRIBED)].str.lower())
    suppressed = email.str.lower().isin((set(suppressed_emails) | unsubscribed_emails) - {""}) | users[
        "user_id"
    ].astype("string").isin(set(suppressed_ids) - {""})
    consented = consent.eq(OPTED_IN) | (consent.eq("") & (consent_rule == "not-unsubscribed"))
    reason = np.select(
        [
            email.eq("").to_numpy(bool),
            ~valid_addresses(email).to_numpy(bool),
            consent.eq(UNSUBSCRIBED).to_numpy(bool),
            ~consented.to_numpy(bool),
            suppressed.to_numpy(bool),
        ],
        list(REASONS[:-1]),
        default="",
    ).astype(object)
    # of the customers who may be written to, one per address (the smallest user id): a guest account and a full
    # account with one address get one email
    open_rows = reason == ""
    address = email.str.lower().to_numpy(object)
    order = np.lexsort((users["user_id"].astype(str).to_numpy(), address))
    taken = pd.Series(address[order]).where(open_rows[order]).duplicated() & open_rows[order]
    reason[order[taken.to_numpy(bool)]] = SHARED_ADDRESS
    table = pd.DataFrame(
        {"user_id": users["user_id"].astype("string"), "email": email, "reason": pd.array(reason, dtype="string")}
    )
    return table[list(RECIPIENT_COLUMNS)].reset_index(drop=True)


def reason_counts(reasons: pd.Series) -> dict[str, int]:
    """{reason: customers} for the reasons present, "" (may be written to) first, then in the order of REASONS."""
    counts = reasons.value_counts()
    return {reason: int(counts[reason]) for reason in ("", *REASONS) if reason in counts.index}


def example_domains(addresses: pd.Series) -> pd.Series:
    """Whether each address is at a domain RFC 2606 reserves (example, .test, .invalid, .localhost, example.com/.net/
    .org): a demo address, which reaches no one."""
    domain = _arrow_text(addresses).str.replace(r"(?s)^.*@", "", regex=True).str.lower()
    return (_arrow_text(addresses).str.contains("@", regex=False) & domain.str.contains(EXAMPLE_DOMAINS)).astype(bool)
