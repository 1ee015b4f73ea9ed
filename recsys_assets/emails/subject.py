"""The subject line and the preview text (preheader) of a recommendation email, written short rather than cut.

Why these lengths: docs/emails.md ("Subject and preview text").
"""

from __future__ import annotations

import re

SUBJECT_CHARS = 60
PREHEADER_CHARS = 130
PREHEADER_MIN_CHARS = 40
# A product named in a subject keeps at least this many characters, else the subject names none.
MIN_NAME_CHARS = 12
PREHEADER_NAME_CHARS = 40
# What a cut name must not end with: a separator, or a word that only joins ("Cable with", "Case for").
_DANGLING = re.compile(
    r"(?:[\s,;:.(\[{|/&+–—-]+|\s+(?:with|for|and|or|of|the|a|an|to|in|on|by|from|at|&))+$", re.IGNORECASE
)


def cut_at_word(text: str, limit: int) -> str:
    """The longest run of whole words of `text` within `limit` characters, without a dangling end ('' if none)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rpartition(" ")[0]
    previous = None
    while cut != previous:
        previous, cut = cut, _DANGLING.sub("", cut)
    return cut


def subject_line(first_name: str, product_names: list[str]) -> str:
    """At most SUBJECT_CHARS, whole words only: 'Priya, picked for you: boAt Rockerz 450 and 4 more', shorter
    forms when that does not fit, and '5 picks for you' without a product that fits at a word."""
    count = len(product_names)
    lead = f"{first_name}, picked for you: " if first_name else "Picked for you: "
    top = " ".join(product_names[0].split()) if count else ""
    for more in ([f" and {count - 1} more"] if count > 1 else []) + [""]:
        name = cut_at_word(top, SUBJECT_CHARS - len(lead) - len(more))
        if name and (len(name) >= MIN_NAME_CHARS or name == top):
            return lead + name + more
    picks = f"{count} picks for you" if count != 1 else "a pick for you"
    return f"{first_name}, {picks}" if first_name else picks[0].upper() + picks[1:]


def preheader_line(reason: str, product_names: list[str], shop_name: str) -> str:
    """About PREHEADER_MIN_CHARS to PREHEADER_CHARS: the first reason and the picks' names ('Because you reviewed
    X: A, B and 3 more'), with the shop named when that is short."""
    names = [cut_at_word(name, PREHEADER_NAME_CHARS) for name in product_names]
    lines = [f"{reason}: {_listed(names, shown)}" for shown in range(len(names), 0, -1)]
    line = cut_at_word(next((line for line in lines if len(line) <= PREHEADER_CHARS), lines[-1]), PREHEADER_CHARS)
    return line if len(line) >= PREHEADER_MIN_CHARS else f"{line}, from {shop_name}"


def _listed(names: list[str], shown: int) -> str:
    """'A, B and C' for three names shown, 'A, B and 3 more' for two of five."""
    head, rest = names[:shown], len(names) - shown
    if rest:
        return f"{', '.join(head)} and {rest} more"
    return f"{', '.join(head[:-1])} and {head[-1]}" if len(head) > 1 else head[0]
