"""Read any input file into FileTables: gunzip, apply its column mapping, detect its format from the header and
dispatch to the format's reader (docs/own-data.md)."""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Callable
from dataclasses import replace

from recsys_assets.catalog.reading import InputFileError, check_file
from recsys_assets.formats import personalize, suppression
from recsys_assets.formats.columns import AUTO, FORMAT_COLUMNS, KAGGLE, ORDER_LINES, REQUIRED
from recsys_assets.formats.kaggle import read_kaggle
from recsys_assets.formats.mapping import FileMapping
from recsys_assets.formats.tables import DEFAULT_OPTIONS, FileTables, ReadOptions

FORMATS = tuple(FORMAT_COLUMNS)
GZIP_MAGIC = b"\x1f\x8b"
# A header whose quotes are still open after this many bytes is not followed further (the CSV reader reports it).
MAX_HEADER_BYTES = 2**20
LINE_BREAK = re.compile(rb"[\r\n]")
# What each format needs in its header, for the message of a header that fits none.
NEEDS = {
    KAGGLE: ", ".join(REQUIRED[KAGGLE]),
    ORDER_LINES: ", ".join(REQUIRED[ORDER_LINES]),
    personalize.FORMAT: "ITEM_ID (items), USER_ID (users), USER_ID, ITEM_ID, TIMESTAMP (interactions; "
    "with TEXT or TITLE: reviews)",
    suppression.FORMAT: "EMAIL and/or USER_ID, optional REASON, no other column",
}


def read_input(
    data: bytes,
    source: str,
    format: str = AUTO,
    mapping: FileMapping | None = None,
    options: ReadOptions = DEFAULT_OPTIONS,
) -> FileTables:
    """One input file (gzip-compressed or not) into FileTables: the mapping's format, currency and column names
    apply; AUTO detects the format from the header; a file that fits no format raises InputFileError."""
    data = gunzip(data, source, options)
    check_file(data, source, options.limits)
    columns = {**options.columns, **(mapping.columns if mapping else {})}
    if mapping and mapping.format != AUTO:
        format = mapping.format
    if format != AUTO and format not in FORMAT_COLUMNS:
        raise InputFileError(source, f"unknown format {format!r} (known: {AUTO}, {', '.join(FORMATS)})")
    header, header_end = read_header(data)
    renamed = _renamed(header, columns)
    detected = detect_format(renamed) if format == AUTO else format
    if detected is None:
        needs = "; ".join(f"{name} needs {what}" for name, what in NEEDS.items())
        raise InputFileError(source, f"the header fits no format ({needs})")
    missing = missing_columns(detected, renamed)
    if missing:
        raise InputFileError(source, f"not a {detected} file: required columns missing: {', '.join(missing)}")
    canonical = _canonical(renamed, detected)
    if canonical != header:
        data = write_header(canonical) + data[header_end:]
    currency = mapping.currency if mapping and mapping.currency else options.currency
    tables = _reader(detected)(data, source, replace(options, columns={}, currency=currency))
    theirs = {ours: file_name for ours, file_name in columns.items() if ours in canonical}
    if not theirs or tables.rejected is None:
        return tables
    return replace(tables, rejected=tables.rejected.assign(column=tables.rejected["column"].replace(theirs)))


def gunzip(data: bytes, source: str, options: ReadOptions = DEFAULT_OPTIONS) -> bytes:
    """`data` decompressed where it starts with gzip's magic bytes (whatever the file's name), refused beyond
    options.limits.max_file_bytes decompressed; a truncated or corrupt gzip is an InputFileError."""
    if not data.startswith(GZIP_MAGIC):
        return data
    limit = options.limits.max_file_bytes
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            text = stream.read(limit + 1)
    except EOFError as error:
        raise InputFileError(source, "the gzip data is truncated (the file was cut short)") from error
    except (gzip.BadGzipFile, zlib.error) as error:
        raise InputFileError(source, f"not valid gzip data ({error})") from error
    if len(text) > limit:
        raise InputFileError(
            source, f"decompressed, more than {limit:,} bytes: above the limit of {limit:,} bytes (max_file_mb)"
        )
    return text


def read_header(data: bytes) -> tuple[list[str], int]:
    """The header's names (stripped; BOM dropped) and the byte offset where the header record ends (its line
    break not included; a quoted name may hold line breaks); names not in UTF-8 get replacement characters."""
    end, quotes = -1, 0
    while True:
        line_break = LINE_BREAK.search(data, end + 1)
        line_end = line_break.start() if line_break else len(data)
        quotes += data.count(b'"', end + 1, line_end)
        end = line_end
        if quotes % 2 == 0 or not line_break or end > MAX_HEADER_BYTES:
            break
    line = data[:end].decode("utf-8-sig", errors="replace")
    names = next(csv.reader(io.StringIO(line, newline="")), [])
    return [name.strip() for name in names], end


def write_header(names: list[str]) -> bytes:
    """A header line (no line break) holding `names`."""
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow(names)
    return line.getvalue().encode("utf-8")


def detect_format(header: list[str]) -> str | None:
    """The format whose required columns a header holds (names compared case-insensitively; unnamed columns, as
    a spreadsheet's trailing empty ones, do not count), or None."""
    names = {name.casefold() for name in header if name}
    upper = {name.upper() for name in header if name}

    def has(columns: tuple[str, ...]) -> bool:
        return {c.casefold() for c in columns} <= names

    if has(REQUIRED[KAGGLE]):
        return KAGGLE
    if has(REQUIRED[ORDER_LINES]):
        return ORDER_LINES
    # a REASON column means a suppression list whatever else it holds (a users file has none): taking such a list
    # for customers would drop the suppressions and keep an earlier opt-in
    if upper & {"EMAIL", "USER_ID"} and (upper <= set(suppression.COLUMNS) or "REASON" in upper - {"ITEM_ID"}):
        return suppression.FORMAT
    if personalize.dataset_of(upper):
        return personalize.FORMAT
    return None


def missing_columns(format: str, header: list[str]) -> list[str]:
    """The required columns of `format` a header lacks (case-insensitively)."""
    names = {name.casefold() for name in header}
    if format == personalize.FORMAT:
        upper = {name.upper() for name in header}
        return [] if personalize.dataset_of(upper) else personalize.missing_columns(upper)
    if format == suppression.FORMAT:
        return [] if names & {"email", "user_id"} else ["EMAIL or USER_ID"]
    return [c for c in REQUIRED[format] if c.casefold() not in names]


def _renamed(header: list[str], columns: dict[str, str]) -> list[str]:
    """The header with each file's name of a mapped column (compared case-insensitively) replaced by ours."""
    ours = {theirs.casefold(): name for name, theirs in columns.items()}
    return [ours.get(name.casefold(), name) for name in header]


def _canonical(header: list[str], format: str) -> list[str]:
    """The header with the format's column names in their canonical spelling."""
    spelling = {name.casefold(): name for name in FORMAT_COLUMNS[format]}
    return [spelling.get(name.casefold(), name) for name in header]


def _reader(format: str) -> Callable[[bytes, str, ReadOptions], FileTables]:
    """The reader of a format (order-lines imported when used)."""
    if format == ORDER_LINES:
        from recsys_assets.formats.order_lines import read_order_lines

        return read_order_lines
    readers = {
        KAGGLE: read_kaggle,
        personalize.FORMAT: personalize.read_personalize,
        suppression.FORMAT: suppression.read_suppression,
    }
    return readers[format]
