"""A campaign's preview for the marketer: one self-contained index.html with a card per email, searchable by
customer and subject, each email rendered on demand in a sandboxed frame (docs/emails.md, "Gallery")."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import escape

from recsys_assets.emails.audit import ReadEmail, decoded_header

# Opening a card makes its frame; searching hides the cards that do not match. No network, no other script.
SCRIPT = """
const search = document.getElementById("search");
const cards = Array.from(document.querySelectorAll(".card"));
const shown = document.getElementById("shown");
search.addEventListener("input", () => {
  const words = search.value.toLowerCase().trim().split(/\\s+/);
  let count = 0;
  for (const card of cards) {
    const hit = words.every((word) => card.dataset.search.includes(word));
    card.hidden = !hit;
    count += hit;
  }
  shown.textContent = count.toLocaleString();
});
document.addEventListener("toggle", (event) => {
  const card = event.target;
  if (!card.classList || !card.classList.contains("card") || !card.open || card.querySelector("iframe")) return;
  const template = card.querySelector("template");
  if (!template) return;
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "");
  frame.title = "Email to " + card.dataset.customer;
  frame.srcdoc = template.content.textContent;
  card.append(frame);
}, true);
"""
# The page may run only its own script; the emails' frames inherit the policy: https images, inline styles.
POLICY = (
    "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()}'"
)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 960px; padding: 16px; color: #222; }
input { font-size: 16px; padding: 8px; width: 100%; box-sizing: border-box; }
.card { border: 1px solid #ccc; border-radius: 6px; margin: 8px 0; padding: 8px 12px; }
.card summary { cursor: pointer; }
.subject { font-weight: 600; }
.preheader, .who { color: #555; font-size: 14px; }
iframe { border: 1px solid #ddd; width: 100%; height: 900px; margin-top: 8px; background: #fff; }
"""


# Emails rendered per gallery page: 1,000 are about 12 MB of page (8,000 on one page were 101 MB, and 1 GB to build).
RENDERED_CARDS = 1_000
INDEX_PAGE = "index.html"


@dataclass(frozen=True)
class GalleryCard:
    """One email in the gallery: who it goes to, its subject and preview text, and its HTML part."""

    user_id: str
    name: str
    subject: str
    preheader: str
    html: str


def is_gallery_page(name: str) -> bool:
    """Whether a file name in an email folder is a gallery page (an email is `<key>.eml`)."""
    return re.fullmatch(r"index(-[0-9]+)?\.html", name) is not None


def gallery_page_name(page: int) -> str:
    """The file of gallery page `page` (1 is the index)."""
    return INDEX_PAGE if page == 1 else f"index-{page}.html"


def gallery_pages(
    segment: str, cards: list[GalleryCard], html_of: Callable[[GalleryCard], str] = lambda card: card.html
) -> Iterator[tuple[str, bytes]]:
    """The gallery as (file name, UTF-8 HTML) pages, cards in user id order, `RENDERED_CARDS` emails rendered a page:
    the index lists every email (searchable), rendering the first page's and linking each other card to the page
    that renders it. `html_of(card)` is asked for one page's emails at a time. The same cards give the same bytes."""
    ordered = sorted(cards, key=lambda card: card.user_id)
    chunks = [ordered[start : start + RENDERED_CARDS] for start in range(0, len(ordered), RENDERED_CARDS)] or [[]]
    links = {card.user_id: gallery_page_name(page) for page, chunk in enumerate(chunks, 1) for card in chunk}
    index = [(card, html_of(card) if links[card.user_id] == INDEX_PAGE else "") for card in ordered]
    title = f"{segment}: {len(ordered):,} email{'' if len(ordered) == 1 else 's'}"
    pages = f" (page 1 of {len(chunks)})" if len(chunks) > 1 else ""
    yield INDEX_PAGE, _page(segment, title + pages, index, links)
    for page, chunk in enumerate(chunks[1:], 2):
        rendered = [(card, html_of(card)) for card in chunk]
        yield gallery_page_name(page), _page(segment, f"{title} (page {page} of {len(chunks)})", rendered, links)


def _page(segment: str, title: str, cards: list[tuple[GalleryCard, str]], links: dict[str, str]) -> bytes:
    """One gallery page of (card, its HTML or '' to link it to its page in `links`)."""
    title = escape(title)
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        '<p><input id="search" type="search" placeholder="Search by customer id, name or subject" '
        'aria-label="Search by customer id, name or subject" autocomplete="off"></p>\n'
        f'<p><span id="shown">{len(cards):,}</span> shown; open a card to see its email.</p>\n'
    )
    body = "".join(_card(segment, card, html, links[card.user_id]) for card, html in cards)
    return (head + body + f"<script>{SCRIPT}</script>\n</body>\n</html>\n").encode("utf-8")


def _text(markup: str) -> str:
    """`markup` as inert text: `&` and `<` escaped are enough outside a tag (twice as fast as `html.escape`)."""
    return markup.replace("&", "&amp;").replace("<", "&lt;")


def _card(segment: str, card: GalleryCard, html: str, page: str) -> str:
    """A card: the email's HTML as inert text, or (without it) a link to the card on `page`, which renders it."""
    words = escape(" ".join([card.user_id, card.name, card.subject]).lower())
    anchor = "c" + hashlib.sha256(card.user_id.encode()).hexdigest()[:16]
    return (
        f'<details class="card" id="{anchor}" data-search="{words}" data-customer="{escape(card.user_id)}">'
        f'<summary><span class="subject">{escape(card.subject)}</span><br>'
        f'<span class="preheader">{escape(card.preheader)}</span><br>'
        f'<span class="who">{escape(card.name or "(no name)")} · <code>{escape(card.user_id)}</code> · '
        f"{escape(segment)}</span></summary>"
        + (
            f"<template>{_text(html)}</template></details>\n"
            if html
            else f'<p class="who"><a href="{page}#{anchor}">This email is shown on {page}</a></p></details>\n'
        )
    )


def sample_emails(read: dict[str, ReadEmail], preheaders: dict[str, str], count: int) -> str:
    """The first `count` emails by user id as markdown: recipient, subject, preview text and the plain-text part."""
    samples = []
    for user_id in sorted(read)[:count]:
        email = read[user_id]
        fence = "`" * max(3, 1 + max(map(len, re.findall(r"`+", email.text)), default=0))
        samples.append(
            f"**To:** {markdown_line(decoded_header(email.headers.get('to', '')))}  \n"
            f"**Subject:** {markdown_line(email.subject)}  \n"
            f"**Preview:** {markdown_line(preheaders.get(user_id) or '')}\n\n{fence}text\n{email.text}\n{fence}"
        )
    return "\n\n---\n\n".join(samples) or "(no emails)"


def markdown_line(text: str) -> str:
    """Text on one markdown line with its markup characters escaped."""
    return re.sub(r"([\\`*_{}\[\]<>()#+!|~-])", r"\\\1", " ".join(text.split()))
