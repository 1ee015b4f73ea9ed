"""What a sender would refuse in a packaged email: missing headers, no one-click unsubscribe, no viewport, images
without alt text, no postal address or unsubscribe link, a subject too long or cut, a placeholder greeting.

The .eml bytes are read without the `email` package's full parser: the headers are the top of the bytes and the
two parts are base64 text (docs/emails.md, "Sendability").
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections import Counter
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header, make_header

from markupsafe import escape

from recsys_assets.emails.subject import SUBJECT_CHARS

ONE_CLICK = "List-Unsubscribe=One-Click"
PLACEHOLDER_NAMES = ("Amazon Customer", "Kindle Customer", "Placeholder", "Guest")
# The greeting is the opening line of the plain-text part: a placeholder is looked for this far in.
GREETING_CHARS = 400
REQUIRED_HEADERS = ("Date", "From", "To", "Subject", "Message-ID")

_PLACEHOLDER = "|".join(re.escape(name) for name in PLACEHOLDER_NAMES)
_PLACEHOLDER_IN_SUBJECT = re.compile(rf"\b(?:{_PLACEHOLDER})\b", re.IGNORECASE)
_PLACEHOLDER_GREETING = re.compile(
    rf"^[ \t]*(?:Hi|Hello|Hey|Dear)[ \t]+(?:{_PLACEHOLDER})\b", re.IGNORECASE | re.MULTILINE
)
_FOLD = re.compile(r"\n(?=[ \t])")
_CONTENT_TYPE = re.compile(r"^content-type:\s*([\w.+-]+/[\w.+-]+)", re.IGNORECASE | re.MULTILINE)
_TRANSFER_ENCODING = re.compile(r"^content-transfer-encoding:\s*([\w-]+)", re.IGNORECASE | re.MULTILINE)
_CHARSET = re.compile(r'charset="?([\w.-]+)', re.IGNORECASE)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_VIEWPORT = re.compile(r"<meta\b[^>]*\bname\s*=\s*[\"']?viewport\b", re.IGNORECASE)
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_HTTPS_URL = re.compile(r"<(https://[^>\s]+)>")
_MAILTO = re.compile(r"<mailto:[^>\s]+>")


@dataclass(frozen=True)
class ReadEmail:
    """An .eml file's headers (unfolded, by lower-case name), plain-text part and HTML part."""

    headers: dict[str, str]
    text: str
    html: str

    @property
    def subject(self) -> str:
        """The Subject header, RFC 2047 encoded words decoded."""
        return decoded_header(self.headers.get("subject", ""))


def read_eml(eml: bytes, html: str | None = None) -> ReadEmail:
    """The headers and the text/plain and text/html parts of a message (a single-part one has one of them); with
    `html` (the rendered HTML the bytes were made from) the HTML part is not decoded again."""
    message = eml.decode("utf-8", "replace")
    head, _, body = (message.replace("\r\n", "\n") if "\r" in message else message).partition("\n\n")
    headers = _headers(head)
    boundary = _BOUNDARY.search(headers.get("content-type", ""))
    if boundary is None:
        parts = [(head, body)]
    else:
        chunks = body.split("--" + boundary.group(1))[1:]
        parts = [chunk.lstrip("\n").partition("\n\n")[::2] for chunk in chunks if not chunk.startswith("--")]
    texts = {} if html is None else {"text/html": html}
    for part_head, payload in parts:
        kind = _CONTENT_TYPE.search(part_head)
        kind = kind.group(1).lower() if kind else "text/plain"
        if kind not in texts:
            texts[kind] = _decoded(part_head, payload)
    return ReadEmail(headers, texts.get("text/plain", ""), texts.get("text/html", ""))


def _headers(head: str) -> dict[str, str]:
    """Unfolded header values by lower-case name (the first of repeated ones)."""
    headers = {}
    for line in _FOLD.sub("", head).split("\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    return headers


def decoded_header(value: str) -> str:
    """A header value with its RFC 2047 encoded words decoded by the email package (as it is, if they are malformed)."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeDecodeError):
        return value


def _text(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _decoded(part_head: str, payload: str) -> str:
    """A part's text: base64 or quoted-printable undone, in its charset (UTF-8 when unnamed)."""
    encoding = _TRANSFER_ENCODING.search(part_head)
    encoding = encoding.group(1).lower() if encoding else ""
    if encoding not in ("base64", "quoted-printable"):
        return payload
    try:
        data = base64.b64decode(payload) if encoding == "base64" else quopri.decodestring(payload.encode())
    except (binascii.Error, ValueError):
        return ""
    charset = _CHARSET.search(part_head)
    return _text(data, charset.group(1) if charset else "utf-8")


def email_problems(email: ReadEmail, postal_address: str) -> list[str]:
    """What a sender would refuse in `email` (empty when it is sendable), each problem as a short kind."""
    headers = email.headers
    problems = [f"no {name}" for name in REQUIRED_HEADERS if not headers.get(name.lower(), "").strip()]
    unsubscribe = headers.get("list-unsubscribe", "")
    links = _HTTPS_URL.findall(unsubscribe)
    if not links:
        problems.append("List-Unsubscribe without an https URL")
    if not _MAILTO.search(unsubscribe):
        problems.append("List-Unsubscribe without a mailto")
    if headers.get("list-unsubscribe-post", "").strip() != ONE_CLICK:
        problems.append(f"List-Unsubscribe-Post is not {ONE_CLICK}")
    if not _VIEWPORT.search(email.html):
        problems.append("no viewport meta")
    if any(
        not (alt := _ALT.search(tag)) or not (alt.group(1) or alt.group(2) or "").strip()
        for tag in _IMG.findall(email.html)
    ):
        problems.append("an image without alt text")
    for part, says in (("text", email.text.__contains__), ("HTML", _html_says(email.html))):
        if not postal_address or not says(postal_address):
            problems.append(f"no postal address in the {part} part")
        if not links or not says(links[0]):
            problems.append(f"no unsubscribe link in the {part} part")
    subject = email.subject
    if len(subject) > SUBJECT_CHARS:
        problems.append(f"subject over {SUBJECT_CHARS} characters")
    if subject.rstrip().endswith("…"):
        problems.append("subject cut mid-word")
    if _PLACEHOLDER_IN_SUBJECT.search(subject) or _PLACEHOLDER_GREETING.search(email.text, 0, GREETING_CHARS):
        problems.append("a placeholder name in the greeting or subject")
    return problems


def _html_says(markup: str):
    """Whether `markup` holds a text, as it is or HTML-escaped (as the templates' autoescape writes it)."""
    return lambda text: text in markup or str(escape(text)) in markup


def problem_counts(problems: dict[str, list[str]]) -> Counter:
    """Emails per problem kind, from {user id: problems}."""
    return Counter(kind for kinds in problems.values() for kind in kinds)
