"""A campaign's names and messages: its id, each customer's stable Message-ID, and what no real send may carry."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.utils import parseaddr
from urllib.parse import urlsplit

import pandas as pd

from recsys_assets.emails.frame import Brand, demo_fields
from recsys_assets.emails.recipients import NO_ADDRESS, SUPPRESSED, example_domains

MESSAGE_ID_CHARS = 32
_MESSAGE_ID_HEADER = re.compile(rb"(?im)^Message-ID:[^\n]*\n")
# the setting that fixes each demo field of the brand
DEMO_FIELD_SETTINGS = {
    "postal_address": "RECSYS_POSTAL_ADDRESS",
    "unsubscribe_secret": "RECSYS_UNSUBSCRIBE_SECRET",  # nosec B105: the variable's name, not its value
}


def default_campaign(now: datetime) -> str:
    """The campaign of the ISO week `now` falls in, like `2026-W50-weekly`: a weekly send's id when none is set."""
    return now.strftime("%G-W%V-weekly")


def message_ids(campaign: str, user_ids: pd.Series, domain: str) -> pd.Series:
    """Per user id, `<32 hex of sha256(campaign, user id)@domain>`: the same for a campaign and customer on every
    run, so a server that saw a message once can drop a re-send."""
    digests = (campaign + "\x1f" + user_ids.astype("string")).map(
        lambda text: hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:MESSAGE_ID_CHARS]
    )
    return "<" + digests + "@" + domain.lower() + ">"


def with_message_id(eml: bytes, message_id: str) -> bytes:
    """The message with its Message-ID header (in the header block; added when missing) set to `message_id`."""
    head, separator, body = eml.partition(b"\n\n")
    line = b"Message-ID: " + message_id.encode("ascii") + b"\n"
    head += b"\n"
    replaced, count = _MESSAGE_ID_HEADER.subn(lambda _: line, head, count=1)
    return (replaced if count else head + line)[:-1] + separator + body


def sending_problems(brand: Brand, addresses: pd.Series) -> list[str]:
    """Why the brand and recipients cannot be sent to for real, each naming the setting to change (empty: they can):
    the demo postal address or unsubscribe secret; a From, Reply-To, unsubscribe address or link at an example
    domain (RFC 2606), or recipients at one."""
    problems = [
        f"{DEMO_FIELD_SETTINGS[name]} still holds the demo's {name.replace('_', ' ')}: set the shop's own"
        for name in demo_fields(brand)
    ]
    own = {
        "RECSYS_FROM": parseaddr(brand.sender)[1],
        "RECSYS_REPLY_TO": parseaddr(brand.reply_to)[1],
        "RECSYS_UNSUBSCRIBE_MAILTO": brand.unsubscribe_mailto,
        "RECSYS_UNSUBSCRIBE_URL": "@" + (urlsplit(brand.unsubscribe_url).hostname or ""),
    }
    at_example_domain = example_domains(pd.Series(list(own.values()), index=list(own), dtype="string"))
    problems += [
        f"{setting} is at an example domain ({own[setting].lstrip('@')}): set the shop's own"
        for setting in at_example_domain[at_example_domain].index
    ]
    at_example = addresses[example_domains(addresses.astype("string"))]
    if len(at_example):
        problems.append(
            f"{len(at_example):,} recipients are at example domains (e.g. {at_example.iloc[0]}): they reach no one; "
            "give the customers' real addresses (the users file's EMAIL column)"
        )
    return problems


def campaign_members(emails: pd.DataFrame, recipients: pd.DataFrame, suppressions: pd.DataFrame) -> pd.DataFrame:
    """The segment's customers with a written email (`emails`): user_id, email, key and reason ("" = may be
    written to): the recipients' reason, else "suppressed" when the suppression list (`email` or `user_id`) has
    them now, which a notification may have added since the recipients were worked out."""
    written = emails.loc[emails["status"].eq("written"), ["user_id", "key"]].astype("string")
    members = written.merge(recipients[["user_id", "email", "reason"]].astype("string"), on="user_id", how="left")
    members["email"] = members["email"].fillna("")
    members["reason"] = members["reason"].fillna(NO_ADDRESS)
    addresses = set(suppressions["email"].astype("string").str.strip().str.lower().replace("", pd.NA).dropna())
    customers = set(suppressions["user_id"].astype("string").replace("", pd.NA).dropna())
    suppressed = members["email"].str.strip().str.lower().isin(addresses) | members["user_id"].isin(customers)
    members.loc[members["reason"].eq("") & suppressed, "reason"] = SUPPRESSED
    return members[["user_id", "email", "key", "reason"]]
