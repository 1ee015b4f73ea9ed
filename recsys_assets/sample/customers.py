"""Demo customer records in Personalize's users format: a name, an address at a demo domain, consent, country and
locale per customer, each drawn from the customer's id and the seed alone (docs/samples.md)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from recsys_assets.formats.tables import OPTED_IN, UNSUBSCRIBED, FileTables
from recsys_assets.sample.vocabulary import FIRST_NAMES, LAST_NAMES

DEMO_DOMAIN = "customers.example"  # RFC 2606: a domain that never receives mail
UNSUBSCRIBED_SHARE = 0.05
USER_COLUMNS = ("USER_ID", "NAME", "EMAIL", "CONSENT", "COUNTRY", "LOCALE")
# The sample shop's customers: country, its locale and its share (an amazon.in-like shop, a few abroad).
COUNTRIES = pd.DataFrame(
    [
        ("India", "en-IN", 0.85),
        ("United Arab Emirates", "en-AE", 0.05),
        ("Singapore", "en-SG", 0.04),
        ("United Kingdom", "en-GB", 0.03),
        ("United States", "en-US", 0.03),
    ],
    columns=["country", "locale", "share"],
)
ADDRESS_DIGEST_CHARS = 6
HEX_DIGITS = np.array(list("0123456789abcdef"), dtype=object)


def customer_profiles(
    user_ids: pd.Series,
    names: pd.Series | None = None,
    countries: pd.Series | None = None,
    seed: int = 7,
    unsubscribed_share: float = UNSUBSCRIBED_SHARE,
    domain: str = DEMO_DOMAIN,
) -> pd.DataFrame:
    """One USER_COLUMNS row per distinct id, sorted by id: the given name (else a drawn one), an address at `domain`
    made of the name and a digest of the id (distinct per customer), `unsubscribed` for about `unsubscribed_share`
    of them (else opted in), the given country (else one drawn from COUNTRIES) and its locale ("" if not known)."""
    if not 0 <= unsubscribed_share <= 1:
        raise ValueError(f"the unsubscribed share is {unsubscribed_share}: expected 0 to 1")
    given = pd.DataFrame(
        {
            "user_id": user_ids.astype("string").to_numpy(),
            "name": _or_empty(names, user_ids),
            "country": _or_empty(countries, user_ids),
        }
    )
    table = given[given["user_id"].fillna("") != ""].drop_duplicates("user_id").sort_values("user_id")
    ids = table["user_id"].to_numpy(dtype=object)
    drawn_name = FIRST_NAMES[_draws(ids, seed, "first") % len(FIRST_NAMES)] + " "
    drawn_name += LAST_NAMES[_draws(ids, seed, "last") % len(LAST_NAMES)]
    name = table["name"].where(table["name"] != "", pd.Series(drawn_name, index=table.index, dtype="string"))
    share = np.cumsum(COUNTRIES["share"].to_numpy()) / COUNTRIES["share"].sum()
    drawn_country = COUNTRIES["country"].to_numpy()[np.searchsorted(share, _uniform(ids, seed, "country"))]
    country = table["country"].where(table["country"] != "", pd.Series(drawn_country, index=table.index))
    unsubscribed = _uniform(ids, seed, "consent") < unsubscribed_share
    return pd.DataFrame(
        {
            "USER_ID": table["user_id"],
            "NAME": name,
            "EMAIL": demo_addresses(table["user_id"], name, domain),
            "CONSENT": np.where(unsubscribed, UNSUBSCRIBED, OPTED_IN),
            "COUNTRY": country,
            "LOCALE": country.map(COUNTRIES.set_index("country")["locale"]).fillna(""),
        },
        dtype="string",
    ).reset_index(drop=True)


def demo_addresses(user_ids: pd.Series, names: pd.Series, domain: str = DEMO_DOMAIN) -> pd.Series:
    """'Priya Sharma' -> 'priya.sharma.3fa9c1@<domain>': the name's letters and digits, a digest of the id, and a
    counter where two customers would still share one."""
    words = names.fillna("").str.lower().str.replace(r"[^a-z0-9]+", ".", regex=True).str.strip(".")
    number = _draws(user_ids.astype("string").to_numpy(dtype=object), 0, "address")
    digits = [HEX_DIGITS[(number >> np.uint64(4 * k)) & np.uint64(15)] for k in range(ADDRESS_DIGEST_CHARS)]
    digest = pd.Series(np.sum(digits, axis=0), index=user_ids.index, dtype="string")
    local = words.where(words != "", "customer") + "." + digest
    repeat = local.groupby(local).cumcount()
    local = local.where(repeat == 0, local + "." + repeat.astype(str))
    return local + "@" + domain


def _or_empty(values: pd.Series | None, like: pd.Series) -> np.ndarray:
    if values is None:
        return np.full(len(like), "", dtype=object)
    return values.astype("string").fillna("").str.strip().to_numpy(dtype=object)


def _draws(ids: np.ndarray, seed: int, purpose: str) -> np.ndarray:
    """A 64-bit number per id that depends only on the id, the seed and the purpose."""
    key = hashlib.sha256(f"{seed}:{purpose}".encode()).hexdigest()[:16]
    return pd.util.hash_array(ids, hash_key=key, categorize=False)


def _uniform(ids: np.ndarray, seed: int, purpose: str) -> np.ndarray:
    return _draws(ids, seed, purpose) / 2.0**64


def users_for_input(
    tables: list[FileTables], seed: int = 7, unsubscribed_share: float = UNSUBSCRIBED_SHARE, domain: str = DEMO_DOMAIN
) -> pd.DataFrame:
    """`customer_profiles` for every customer the input files name (their customers, reviewers and the customers of
    their events; no anonymous one), with the first name and country the files give each."""
    named = [t.customers[["user_id", "user_name", "country"]] for t in tables]
    others = [pd.DataFrame({"user_id": t.reviews["user_id"]}) for t in tables]
    others += [pd.DataFrame({"user_id": t.events["user_id"]}) for t in tables]
    everyone = pd.concat([*named, *others], ignore_index=True).astype("string")
    everyone = everyone[everyone["user_id"].fillna("") != ""].replace("", pd.NA)
    given = everyone.groupby("user_id", sort=True).first()
    return customer_profiles(
        given.index.to_series(), given["user_name"], given["country"], seed, unsubscribed_share, domain
    )
