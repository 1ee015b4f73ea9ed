"""Render personalized recommendation emails with Jinja2 and package them as .eml messages."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from babel import Locale
from babel.numbers import format_currency, parse_pattern

from recsys_assets.emails.frame import DEFAULT_BRAND, Brand, list_unsubscribe, unsubscribe_link
from recsys_assets.emails.greeting import first_names, greetings
from recsys_assets.emails.recipients import customer_keys
from recsys_assets.emails.subject import preheader_line, subject_line

TEMPLATE_DIR = Path(__file__).parent / "templates"
SHORT_NAME_CHARS = 48
# Header values are cut to these lengths, so no header line nears SMTP's 998-character limit (RFC 5322 2.1.1)
MAX_NAME_CHARS = 64
MAX_SUBJECT_CHARS = 200
# Whitespace (in Python's re it includes every line break: \r \n \v \f \x1c-\x1e \x85 \u2028 \u2029) and C0/C1 controls
_BREAKS_AND_CONTROLS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
# Users whose email inputs are hashed together in `email_digests`.
DIGEST_USERS = 10_000


@dataclass(frozen=True)
class RenderedEmail:
    """One customer's email: subject, plain-text part and HTML part; `customer_key` is the user id's
    `customer_keys` (render_emails fills it; empty means to_eml derives it)."""

    user_id: str
    user_name: str
    subject: str
    text: str
    html: str
    preheader: str = ""
    customer_key: str = ""


def header_text(value: str, limit: int | None = None) -> str:
    """`value` on one line: every run of whitespace, line breaks and control characters becomes one space;
    with `limit`, cut to at most that many characters (at a word where there is one, ending in '…')."""
    text = _BREAKS_AND_CONTROLS.sub(" ", value).strip()
    if limit is None or len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rpartition(" ")[0] or cut).rstrip() + "…"


def template_environment(directory: Path | None = None) -> jinja2.Environment:
    """Jinja2 environment over the templates; HTML templates are autoescaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def shorten(names: pd.Series, limit: int = SHORT_NAME_CHARS) -> pd.Series:
    """Cut long product names at the last word boundary before `limit` characters."""
    cut = names.str.slice(0, limit).str.replace(r"[\s,(|-]+\S*$", "", regex=True)
    return names.where(names.str.len() <= limit, cut + "…")


def pretty_category(categories: pd.Series) -> pd.Series:
    """'Home&Kitchen' -> 'Home & Kitchen'."""
    return categories.str.replace("&", " & ", regex=False).str.replace(r"(?<=[a-z])(?=[A-Z])", " ", regex=True)


def safe_url(urls: pd.Series) -> pd.Series:
    """Keep only http(s) URLs without whitespace or quotes; anything else becomes empty."""
    ok = urls.fillna("").str.fullmatch(r"https?://[^\s\"'<>]+", case=False)
    return urls.where(ok.fillna(False), "")


def format_price(amounts: pd.Series, currency: str = "INR", locale: str = "en_IN") -> pd.Series:
    """Amounts in `currency` as `locale` writes them (Babel): '₹1,39,900' and '₹99.50' for INR/en_IN, '1.099 €' for
    EUR/de_DE (whole amounts without decimals); '' where missing. Each distinct amount is formatted once."""
    rounded = amounts.round(2)
    place = Locale.parse(locale)
    whole = parse_pattern(place.currency_formats["standard"].pattern)
    whole.frac_prec = (0, 0)
    texts = {
        amount: whole.apply(amount, place, currency=currency, currency_digits=False)
        if float(amount).is_integer()
        else format_currency(amount, currency, locale=place)
        for amount in rounded.dropna().unique()
    }
    return rounded.map(texts).fillna("").astype(object)


def email_items(recommendations: pd.DataFrame, products: pd.DataFrame, brand: Brand = DEFAULT_BRAND) -> pd.DataFrame:
    """One display row per recommendation: name, prices (in the product's currency, else the brand's; the brand's
    locale), discount, rating, links
    and a readable reason (each text made once per recommended product and per reason, not per row)."""
    if "REASON_EVENT" not in recommendations:
        recommendations = recommendations.assign(REASON_EVENT=pd.Series(pd.NA, recommendations.index, "string"))
    reason_keys = ["REASON_ITEM_ID", "REASON_EVENT", "REASON_CATEGORY", "SOURCE"]
    reasons = recommendations[reason_keys].drop_duplicates()
    reasons = reasons.assign(reason=_reasons(reasons, readable_names(products.set_index("product_id")["product_name"])))
    items = recommendations.merge(
        _product_display(recommendations["ITEM_ID"].unique(), products, brand), on="ITEM_ID", how="left"
    )
    items = items.merge(reasons, on=reason_keys, how="left")
    display = ["name", "short_name", "price", "list_price", "discount", "rating", "reason", "link", "image"]
    return pd.concat(
        [items[["USER_ID", "RANK", "ITEM_ID"]].set_axis(["user_id", "rank", "item_id"], axis=1), items[display]],
        axis=1,
    ).sort_values(["user_id", "rank"], kind="stable")


# Words a title-cased name keeps in lower case, but as its first word.
SMALL_WORDS = {"a", "an", "and", "as", "at", "for", "in", "of", "on", "or", "the", "to", "with"}


def readable_names(names: pd.Series) -> pd.Series:
    """Product names as an email shows them: runs of spaces collapsed, and a name written in capitals only
    (order-line exports: 'SET OF 3 CAKE TINS') in title case ('Set of 3 Cake Tins'); other names as they are."""
    names = names.astype("string").str.replace(r"\s+", " ", regex=True).str.strip()
    shouting = names.str.contains(r"[A-Z]", regex=True) & ~names.str.contains(r"[a-z]", regex=True)
    titled = names[shouting.fillna(False)].str.title()
    small = r"(?<=\s)(" + "|".join(word.title() for word in sorted(SMALL_WORDS)) + r")(?=\s)"
    titled = titled.str.replace(small, lambda match: match.group(1).lower(), regex=True)
    return names.where(~shouting.fillna(False), titled)


def _product_display(item_ids: np.ndarray, products: pd.DataFrame, brand: Brand) -> pd.DataFrame:
    """ITEM_ID and the display texts of each product (its id for a name when unknown)."""
    items = pd.DataFrame({"ITEM_ID": pd.Series(item_ids, dtype=products["product_id"].dtype)})
    items = items.merge(products, left_on="ITEM_ID", right_on="product_id", how="left")
    items["product_name"] = readable_names(items["product_name"])
    discount = items["discount_percentage"]
    currency = items["currency"].fillna("").replace("", brand.currency) if "currency" in items else brand.currency
    return pd.DataFrame(
        {
            "ITEM_ID": items["ITEM_ID"],
            "name": items["product_name"].fillna(items["ITEM_ID"]),
            "short_name": shorten(items["product_name"].fillna(items["ITEM_ID"])),
            "price": _prices(items["discounted_price"], currency, brand.locale),
            "list_price": _prices(items["actual_price"], currency, brand.locale),
            "discount": discount.map("{:.0f}%".format).where(discount > 0, ""),
            "rating": items["rating"].map("{:.1f}".format).where(items["rating"].notna(), ""),
            "link": safe_url(items["product_link"]),
            "image": safe_url(items["img_link"]),
        }
    )


def _prices(amounts: pd.Series, currency: pd.Series | str, locale: str) -> pd.Series:
    """`format_price` of each amount in its row's currency (one call per currency)."""
    currencies = pd.Series(currency, index=amounts.index)
    texts = pd.Series("", index=amounts.index, dtype=object)
    for code, rows in amounts.groupby(currencies).groups.items():
        texts[rows] = format_price(amounts[rows], code, locale)
    return texts


# How an email says the customer knows a product, by the event type of their interaction with it.
REASON_VERBS = {"review": "reviewed", "purchase": "bought", "view": "viewed", "add-to-cart": "saved"}


def _reasons(keys: pd.DataFrame, names: pd.Series) -> pd.Series:
    """The reason shown for each (REASON_ITEM_ID, REASON_EVENT, REASON_CATEGORY, SOURCE): the product the customer
    reviewed, bought or viewed (REASON_VERBS by the event; "liked" for another event), else the category."""
    event = keys["REASON_EVENT"].astype("string").str.lower()
    verb = event.map(REASON_VERBS).where(event.isna() | event.isin(list(REASON_VERBS)), "liked")
    verb = verb.fillna(REASON_VERBS["review"])  # tables from before REASON_EVENT held reviews only
    by_review = "Because you " + verb + " " + shorten(keys["REASON_ITEM_ID"].map(names).astype("string"))
    in_category = "Popular in " + pretty_category(keys["REASON_CATEGORY"].astype("string"))
    # Personalize names no reason for its picks: say only what is true
    general = pd.Series("Popular with our customers", index=keys.index).where(
        keys["SOURCE"] != "personalize", "Picked for you"
    )
    return by_review.fillna(in_category).fillna(general)


@dataclass(frozen=True)
class PackagedEmail:
    """A rendered email as the bytes of an .eml file.

    origin: 'template', 'model' (a language model wrote the copy) or 'fallback' (the model's copy
    was rejected for `fallback_reason`); preheader and html are the rendered email's, for previews;
    tokens are the model's usage for this email.
    """

    user_id: str
    subject: str
    eml: bytes
    origin: str = "template"
    preheader: str = ""
    html: str = ""
    fallback_reason: str = ""
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class EmailCopy:
    """Text a language model wrote for one email: subject, an intro, a blurb per item id and the preview text."""

    subject: str
    intro: str
    blurbs: dict[str, str]
    preheader: str


@dataclass(frozen=True)
class EmailJob:
    """One chunk of users to render and package (picklable, for a worker process); `addresses` is each user's To
    address, indexed by user id."""

    recommendations: pd.DataFrame
    products: pd.DataFrame
    users: pd.DataFrame
    addresses: pd.Series
    template_dir: Path | None
    brand: Brand
    date: datetime


@dataclass(frozen=True)
class EmailFailure:
    """A user whose email could not be written, and why."""

    user_id: str
    reason: str


def run_starts(values: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values begins in a sorted array (each user's first row)."""
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values) else np.array([], int)


def render_emails(
    items: pd.DataFrame,
    users: pd.DataFrame,
    env: jinja2.Environment,
    copies: dict[str, EmailCopy] | None = None,
    brand: Brand = DEFAULT_BRAND,
) -> tuple[list[RenderedEmail], list[EmailFailure]]:
    """Render one email per user of `items` (sorted by user, rank); one user's failure spares the others.

    The context is the contract of docs/emails.md ("Templates"): greeting, subject, preheader, intro, groups, items,
    brand and unsubscribe_url. A user in `copies` gets its subject, preheader, intro and item blurbs (escaped in HTML
    like every value). The display name and the subject are on one line (`header_text`).
    """
    copies = copies or {}
    subject_t, text_t, html_t = (env.get_template(n) for n in ("subject.txt.j2", "email.txt.j2", "email.html.j2"))
    names = users.drop_duplicates("user_id").set_index("user_id")["user_name"].fillna("")
    records = items.to_dict(orient="records")
    user_ids = items["user_id"].to_numpy()
    starts = run_starts(user_ids)
    per_user = pd.Series(user_ids[starts], dtype="string")
    firsts = first_names(names.reindex(per_user).fillna(""))["first_name"]
    openings, keys = greetings(firsts).tolist(), customer_keys(per_user).tolist()
    emails, failures = [], []
    for start, end, first, opening, key in zip(starts, [*starts[1:], len(records)], firsts, openings, keys):
        user_id = str(user_ids[start])
        written = copies.get(user_id)
        blurbs = written.blurbs if written else {}
        user_items = [{**record, "blurb": blurbs.get(record.get("item_id"), "")} for record in records[start:end]]
        groups = reason_groups(user_items)
        product_names = [str(item["name"]) for item in user_items]
        context = {
            "greeting": opening,
            "subject": subject_line(first, product_names),
            "preheader": written.preheader
            if written
            else preheader_line(groups[0]["reason"], product_names, brand.shop_name),
            "intro": written.intro if written else "",
            "groups": groups,
            "items": user_items,
            "brand": brand,
            "unsubscribe_url": unsubscribe_link(brand, key),
        }
        try:
            subject = header_text(written.subject if written else subject_t.render(context))
            context.update(subject=subject, preheader=header_text(context["preheader"]))
            text, html = text_t.render(context), html_t.render(context)
        except (jinja2.TemplateError, ValueError, TypeError, KeyError, IndexError) as error:
            failures.append(EmailFailure(user_id, f"{type(error).__name__}: {error}"))
            continue
        user_name = header_text(str(names.get(user_id, "") or ""))
        emails.append(
            RenderedEmail(user_id, user_name, subject, text, html, preheader=context["preheader"], customer_key=key)
        )
    return emails, failures


def reason_groups(user_items: list[dict]) -> list[dict]:
    """One customer's items grouped by reason, each reason once, in rank order of each group's first item."""
    groups: dict[str, list[dict]] = {}
    for item in user_items:
        groups.setdefault(str(item["reason"]), []).append(item)
    return [{"reason": reason, "items": grouped} for reason, grouped in groups.items()]


def template_version(directory: Path | None = None) -> str:
    """A hash of the templates' text: it changes when a template is edited."""
    digest = hashlib.sha256()
    for path in sorted((directory or TEMPLATE_DIR).glob("*.j2")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def input_digests(items: pd.DataFrame, users: pd.DataFrame, addresses: pd.Series, version: str) -> pd.Series:
    """Per user id, a hash of everything the user's email is made from: their display rows
    (`email_items`), their name, their address (`addresses`, by user id) and the writer's version. Equal hash, same
    email to write."""
    names = users.set_index("user_id")["user_name"].fillna("")
    columns = [c for c in items.columns if c != "user_id"]
    text = items[columns].astype("string").fillna("")
    order = np.argsort(items["user_id"].to_numpy(dtype=object), kind="stable")
    user_ids = items["user_id"].to_numpy(dtype=object)[order]
    rows = _joined(text, "\x1f")[order]
    starts = run_starts(user_ids)
    per_user = pd.Index(user_ids[starts], dtype="str")
    to = addresses.reindex(per_user).fillna("")
    prefixes = version + "\x1d" + names.reindex(per_user).fillna("") + "\x1d" + to + "\x1d"
    return pd.Series(
        [
            hashlib.sha256((prefix + "\x1e".join(rows[start:end])).encode()).hexdigest()
            for prefix, start, end in zip(prefixes, starts, [*starts[1:], len(rows)])
        ],
        index=per_user,
        dtype="string",
    )


def _joined(text: pd.DataFrame, separator: str) -> np.ndarray:
    """Each row's texts joined with `separator` (by Arrow, column by column), as Python strings."""
    large = pa.large_string()
    columns = [pa.array(text[column].array).cast(large) for column in text.columns]
    return pc.binary_join_element_wise(*columns, pa.scalar(separator, large)).to_numpy(zero_copy_only=False)


def email_filename(user_ids: pd.Series) -> pd.Series:
    """Per user id, its .eml file name: the customer key (`customer_keys`), so no two customers share one."""
    return customer_keys(user_ids) + ".eml"


_TEXT_PART_HEADERS = 'Content-Type: text/{}; charset="utf-8"\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n'


def to_eml(email: RenderedEmail, recipient: str, brand: Brand, date: datetime) -> bytes:
    """A multipart/alternative message from `brand.sender` to the address `recipient` (UTF-8, base64 parts), dated
    `date` (timezone-aware), with RFC 8058 one-click unsubscribe headers; deterministic, byte for byte what the email
    package writes for it (docs/emails.md, "Packaging"). Name and subject are put on one line and cut to
    MAX_NAME_CHARS and MAX_SUBJECT_CHARS."""
    if date.utcoffset() is None:
        raise ValueError(f"the Date {date} has no timezone")
    name, subject = header_text(email.user_name, MAX_NAME_CHARS), header_text(email.subject, MAX_SUBJECT_CHARS)
    key = email.customer_key or customer_keys(pd.Series([email.user_id], dtype="string")).iloc[0]
    dated = format_datetime(date.replace(microsecond=0))
    digest = hashlib.sha256(f"{recipient}\n{subject}\n{dated}\n{email.text}\n{email.html}".encode()).hexdigest()[:24]
    boundary = f"=={digest}=="
    headers = (
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ("MIME-Version", "1.0"),
        ("From", formataddr(parseaddr(brand.sender), charset="utf-8")),
        ("To", formataddr((name, recipient), charset="utf-8")),
        *((("Reply-To", formataddr(parseaddr(brand.reply_to), charset="utf-8")),) if brand.reply_to else ()),
        ("Subject", subject if subject.isascii() else Header(subject, "utf-8")),
        ("Date", dated),
        ("Message-ID", f"<{digest}@{sender_domain(brand.sender)}>"),
        ("List-Unsubscribe", list_unsubscribe(brand, key)),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Precedence", "bulk"),
    )
    parts = "".join(
        f"--{boundary}\n{_TEXT_PART_HEADERS.format(subtype)}{base64.encodebytes(text.encode()).decode('ascii')}\n"
        for subtype, text in (("plain", email.text), ("html", email.html))
    )
    return b"".join(_header_line(name, value) for name, value in headers) + f"\n{parts}--{boundary}--\n".encode("ascii")


def sender_domain(sender: str) -> str:
    """The domain of the From address, where Message-IDs are made ('Shop <news@shop.example>' -> 'shop.example')."""
    domain = parseaddr(sender)[1].rpartition("@")[2]
    if not domain:
        raise ValueError(f"sender {sender!r} has no address with a domain (like Shop <news@shop.example>)")
    return domain


def _header_line(name: str, value: str | Header) -> bytes:
    """One header as the email package writes it: a short one-line ASCII value as is, else folded by the package."""
    # \v, \f and \x1c-\x1e break lines too (splitlines), so such values are folded by the package
    one_line = isinstance(value, str) and value.isascii() and value.splitlines() == [value]
    if one_line and len(name) + 2 + len(value) <= compat32.max_line_length:
        return f"{name}: {value}\n".encode("ascii")
    return compat32.fold_binary(name, value)


def compose_emails(job: EmailJob) -> tuple[list[PackagedEmail], list[EmailFailure]]:
    """Render and package the emails of one chunk of users."""
    items = email_items(job.recommendations, job.products, job.brand)
    rendered, failures = render_emails(items, job.users, template_environment(job.template_dir), brand=job.brand)
    addresses = job.addresses.reindex([e.user_id for e in rendered])
    packaged = [
        PackagedEmail(e.user_id, e.subject, to_eml(e, a, job.brand, job.date), preheader=e.preheader, html=e.html)
        for e, a in zip(rendered, addresses)
    ]
    return packaged, failures


def user_parts(recommendations: pd.DataFrame, chunks: int) -> Iterator[pd.DataFrame]:
    """The recommendations sorted by user and rank, in about `chunks` parts that never split a user."""
    ordered = recommendations.sort_values(["USER_ID", "RANK"], kind="stable")
    starts = run_starts(ordered["USER_ID"].to_numpy()) if len(ordered) else np.array([0])
    bounds = sorted({int(starts[i]) for i in np.linspace(0, len(starts), max(chunks, 1), endpoint=False).astype(int)})
    for start, end in zip(bounds, [*bounds[1:], len(ordered)]):
        yield ordered.iloc[start:end]


def _needed(
    part: pd.DataFrame, products: pd.DataFrame, users: pd.DataFrame, addresses: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The products (recommended or a reason), users and addresses of one part of the recommendations."""
    needed = pd.concat([part["ITEM_ID"], part["REASON_ITEM_ID"].dropna()]).unique()
    members = part["USER_ID"].unique()
    return (
        products[products["product_id"].isin(needed)],
        users[users["user_id"].isin(members)],
        addresses[addresses.index.isin(members)],
    )


def email_jobs(
    recommendations: pd.DataFrame,
    products: pd.DataFrame,
    users: pd.DataFrame,
    addresses: pd.Series,
    chunks: int,
    **settings,
) -> Iterator[EmailJob]:
    """Split the work into about `chunks` jobs by user, each with only the products, users and addresses it needs."""
    for part in user_parts(recommendations, chunks):
        part_products, part_users, part_addresses = _needed(part, products, users, addresses)
        yield EmailJob(
            recommendations=part, products=part_products, users=part_users, addresses=part_addresses, **settings
        )


def email_digests(
    recommendations: pd.DataFrame, products: pd.DataFrame, users: pd.DataFrame, addresses: pd.Series, version: str
) -> pd.Series:
    """`input_digests` of the users' `email_items`, by parts of `DIGEST_USERS` users: memory follows a part, not
    the segment (one product reviewed by 200,000 customers gives 1,000,000 display rows)."""
    digests = [pd.Series(dtype="string")]
    for part in user_parts(recommendations, -(-recommendations["USER_ID"].nunique() // DIGEST_USERS)):
        part_products, part_users, part_addresses = _needed(part, products, users, addresses)
        digests.append(input_digests(email_items(part, part_products), part_users, part_addresses, version))
    return pd.concat(digests)
