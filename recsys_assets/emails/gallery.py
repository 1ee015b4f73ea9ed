"""A campaign's preview for the marketer: one self-contained index.html with a card per email, searchable by
customer and subject, each email rendered on demand in a sandboxed frame (docs/emails.md, "Gallery")."""

from __future__ import annotations

import base64
import hashlib
import re
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


# A gallery embeds the HTML of this many emails (the first by user id): 1,000 emails are about 12 MB of page, while
# every email keeps its searchable card (a campaign of 8,000 embedded was a 101 MB page and 1 GB to build).
RENDERED_CARDS = 1_000


@dataclass(frozen=True)
class GalleryCard:
    """One email in the gallery: who it goes to, its subject and preview text, and its HTML part ('' when the
    gallery does not embed it)."""

    user_id: str
    name: str
    subject: str
    preheader: str
    html: str


def gallery_page(segment: str, cards: list[GalleryCard]) -> bytes:
    """The gallery of a segment's emails as UTF-8 HTML, cards in user id order: the same cards give the same bytes.
    Every value is escaped; an email's HTML is inert text until its card is opened."""
    ordered = sorted(cards, key=lambda card: card.user_id)
    title = escape(f"{segment}: {len(ordered):,} email{'' if len(ordered) == 1 else 's'}")
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        '<p><input id="search" type="search" placeholder="Search by customer id, name or subject" '
        'aria-label="Search by customer id, name or subject" autocomplete="off"></p>\n'
        f'<p><span id="shown">{len(ordered):,}</span> shown; open a card to see its email.</p>\n'
    )
    body = "".join(_card(segment, card) for card in ordered)
    return (head + body + f"<script>{SCRIPT}</script>\n</body>\n</html>\n").encode("utf-8")


def _text(markup: str) -> str:
    """`markup` as inert text: `&` and `<` escaped are enough outside a tag (twice as fast as `html.escape`)."""
    return markup.replace("&", "&amp;").replace("<", "&lt;")


NOT_EMBEDDED = (
    f"The gallery shows the first {RENDERED_CARDS:,} emails by customer id; open this customer's .eml file, next to "
    "this page, in a mail client."
)


def _card(segment: str, card: GalleryCard) -> str:
    words = escape(" ".join([card.user_id, card.name, card.subject]).lower())
    return (
        f'<details class="card" data-search="{words}" data-customer="{escape(card.user_id)}">'
        f'<summary><span class="subject">{escape(card.subject)}</span><br>'
        f'<span class="preheader">{escape(card.preheader)}</span><br>'
        f'<span class="who">{escape(card.name or "(no name)")} · <code>{escape(card.user_id)}</code> · '
        f"{escape(segment)}</span></summary>"
        + (
            f"<template>{_text(card.html)}</template></details>\n"
            if card.html
            else f'<p class="who">{NOT_EMBEDDED}</p></details>\n'
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
