"""Read a catalog export (Kaggle's amazon.csv format) into validated rows: file faults raise InputFileError, row
faults are quarantined. Pure: bytes in, DataFrames out; the rules are in docs/input.md."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_assets.catalog.fields import (
    AGE_RANGE,
    MAX_ID_CHARS,
    MAX_NUMBER,
    TIMESTAMP_RANGE,
    parse_number,
    split_list,
    whole_numbers,
)
from recsys_assets.catalog.tables import reviewer_rows

REQUIRED_COLUMNS = (
    "product_id",
    "product_name",
    "category",
    "discounted_price",
    "actual_price",
    "discount_percentage",
    "rating",
    "rating_count",
    "about_product",
    "user_id",
    "user_name",
    "review_id",
    "review_title",
    "review_content",
    "img_link",
    "product_link",
)
OPTIONAL_COLUMNS = ("timestamp", "age")
LIST_COLUMNS = ("user_id", "user_name", "review_id", "review_title", "review_content")
LIST_LIKE_COLUMNS = (*LIST_COLUMNS, *OPTIONAL_COLUMNS)
SOURCE_COLUMNS = ("source_file", "source_line")
REJECTED_COLUMNS = ("source_file", "source_line", "column", "reason", "raw_row")
# C0 controls but tab, LF and CR, and DEL; C1 characters are kept (docs/input.md).
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# Leading bytes of formats that are sometimes exported instead of CSV.
BINARY_SIGNATURES = {
    b"PK\x03\x04": "a zip archive (an .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an .xls workbook",
    b"\x1f\x8b": "gzip-compressed data",
    b"PAR1": "a Parquet file",
    b"%PDF": "a PDF document",
}
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
# Bytes that are not UTF-8, as Python's surrogateescape error handler represents them.
ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")


class InputFileError(ValueError):
    """A whole input file is unusable; the message names the file and the fault."""

    def __init__(self, source: str, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass(frozen=True)
class InputLimits:
    """Size limits of an input file and of its fields: list fields per item, the others whole (docs/input.md)."""

    max_file_bytes: int = 2048 * 2**20
    max_item_chars: int = 20_000
    max_field_chars: int = 1_000_000


@dataclass(frozen=True)
class ParsedFile:
    """Rows of one input file that passed row-level validation, and the quarantined rest."""

    rows: pd.DataFrame
    rejected: pd.DataFrame
    fallback_lines: list[int]


def decode_text(data: bytes, source: str, fallback_encoding: str | None = None) -> tuple[str, list[int]]:
    """Decode UTF-8 (a BOM is fine). Returns (text, lines read with the fallback encoding).

    Without a fallback, bytes that are not UTF-8 raise an error naming the line and column. With one,
    only the bytes that are not valid UTF-8 are decoded with it, and their line numbers are returned for the log.
    """
    body = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return body.decode("utf-8"), []
    except UnicodeDecodeError as error:
        if not fallback_encoding:
            raise InputFileError(
                source, f"{utf8_error_place(body, error)}; re-export the file as UTF-8 or set a fallback encoding"
            ) from error
    text = body.decode("utf-8", errors="surrogateescape")
    line_starts = np.flatnonzero(np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), "<u4") == 10)
    undecodable = [match.start() for match in ESCAPED_BYTES.finditer(text)]
    fallback_lines = sorted({int(line) + 1 for line in np.searchsorted(line_starts, undecodable)})
    decoded = ESCAPED_BYTES.sub(
        lambda match: (
            match.group().encode("utf-8", errors="surrogateescape").decode(fallback_encoding, errors="replace")
        ),
        text,
    )
    return decoded, fallback_lines


def line_at(data: bytes, offset: int) -> int:
    """The line (from 1) holding byte `offset`; lines end at \\n, \\r\\n or \\r, as open() reads them."""
    return data.count(b"\n", 0, offset) + data.count(b"\r", 0, offset) - data.count(b"\r\n", 0, offset) + 1


def utf8_error_place(body: bytes, error: UnicodeDecodeError) -> str:
    """'line L, column C: byte 0xNN is not UTF-8' for a decoding error of `body` (no BOM)."""
    end = error.start
    line = line_at(body, end)
    line_start = max(body.rfind(b"\n", 0, end), body.rfind(b"\r", 0, end)) + 1
    column = len(body[line_start:end].decode("utf-8", "replace")) + 1
    return f"line {line}, column {column}: byte 0x{body[error.start]:02x} is not UTF-8 ({error.reason})"


def check_size(size: int, source: str, limits: InputLimits = InputLimits()) -> None:
    """A file larger than the configured limit is refused."""
    if size > limits.max_file_bytes:
        raise InputFileError(
            source, f"{size:,} bytes is above the limit of {limits.max_file_bytes:,} bytes (max_file_mb)"
        )


def check_file(data: bytes, source: str, limits: InputLimits = InputLimits()) -> None:
    """File-level faults found before decoding: too large, empty, binary."""
    check_size(len(data), source, limits)
    if not data or data.isspace():  # no stripped copy of a large file
        raise InputFileError(source, "the file is empty")
    kind = next((name for magic, name in BINARY_SIGNATURES.items() if data.startswith(magic)), None)
    if kind or b"\x00" in data[:4096]:
        raise InputFileError(source, f"not a CSV file: {kind or 'binary data (NUL bytes)'}")


@dataclass(frozen=True)
class CsvRows:
    """The rows of a CSV file as text, with `source_file` and `source_line` (the line each row starts
    on), the rows with the wrong number of fields (quarantine records) and the lines read with the
    fallback encoding."""

    rows: pd.DataFrame
    rejected: pd.DataFrame
    fallback_lines: list[int]


def read_csv_rows(
    data: bytes,
    source: str,
    required: tuple[str, ...],
    fallback_encoding: str | None = None,
    limits: InputLimits = InputLimits(),
) -> CsvRows:
    """Read a CSV file with a header holding `required`: file-level faults raise InputFileError, rows
    with the wrong number of fields or a run cut by `cut_long_runs` are quarantined, blank lines are skipped."""
    check_file(data, source, limits)
    longest = max(limits.max_field_chars, limits.max_item_chars)
    data, cuts = cut_long_runs(data, 4 * longest)
    text, fallback_lines = decode_text(data, source, fallback_encoding)
    if text.lstrip()[:1] in ("{", "["):
        raise InputFileError(source, "not a CSV file: it looks like JSON")
    records, line_numbers, header = _read_records(text, source, required)
    width = len(header)
    complete = np.fromiter((len(record) == width for record in records), bool, len(records))
    owner = np.searchsorted(line_numbers, [line for line, _ in cuts], "right") - 1  # the record of each cut run
    if (owner < 0).any():
        raise InputFileError(source, f"the header has a name longer than {longest:,} characters")
    cut_rows = _cut_records(source, header, records, line_numbers, owner, [n for _, n in cuts], complete, longest)
    kept = complete.copy()
    kept[owner] = False
    rows = pd.DataFrame([record for record, ok in zip(records, kept) if ok], columns=header, dtype="string")
    lines = np.asarray(line_numbers, dtype=np.int64)
    rows.insert(0, "source_line", lines[kept])
    rows.insert(0, "source_file", source)
    rows = rows.astype({"source_file": "string"})
    bad_width = pd.DataFrame(
        {
            "source_file": source,
            "source_line": lines[~complete],
            "column": "",
            "reason": [f"expected {width} fields, found {len(r)}" for r, ok in zip(records, complete) if not ok],
            "raw_row": [json.dumps(r, ensure_ascii=False) for r, ok in zip(records, complete) if not ok],
        }
    )
    return CsvRows(rows, concat_rejected([bad_width, cut_rows]), fallback_lines)


# Bytes scanned at a time by `cut_long_runs`, and what stands for a cut run until its row is quarantined.
_SCAN_BYTES = 2**20
CUT_MARK = "\ue000"


def cut_long_runs(data: bytes, limit: int) -> tuple[bytes, list[tuple[int, int]]]:
    """`data` with each run of more than `limit` bytes without a comma, quote or line break (so inside one field)
    replaced by `CUT_MARK`, and (line, bytes cut) of each run: csv never holds such a field, whose row is
    quarantined anyway (a field or list item longer than `limit` / 4 characters); the scan is by blocks of bytes."""
    view = np.frombuffer(data, dtype=np.uint8)
    spans, last = [], -1  # `last`: the latest comma, quote or line break
    for start in range(0, len(view), _SCAN_BYTES):
        block = view[start : start + _SCAN_BYTES]
        edges = np.flatnonzero((block == 44) | (block == 34) | (block == 10) | (block == 13)) + start
        bounds = np.concatenate([[last], edges])
        spans += [(int(bounds[i]) + 1, int(bounds[i + 1])) for i in np.flatnonzero(np.diff(bounds) - 1 > limit)]
        last = int(edges[-1]) if len(edges) else last
    if len(view) - last - 1 > limit:
        spans.append((last + 1, len(view)))
    if not spans:
        return data, []
    pieces, position = [], 0
    for begin, end in spans:
        pieces += [data[position:begin], CUT_MARK.encode()]
        position = end
    lines = [line_at(data, begin) for begin, _ in spans]
    return b"".join([*pieces, data[position:]]), [(line, end - begin) for line, (begin, end) in zip(lines, spans)]


def _cut_records(
    source: str,
    header: list[str],
    records: list[list[str]],
    line_numbers: list[int],
    owner: np.ndarray,
    sizes: list[int],
    complete: np.ndarray,
    longest: int,
) -> pd.DataFrame:
    """Quarantine records for the complete rows holding a run cut by `cut_long_runs` (`owner`: each run's record):
    line and column, and the raw row with the bytes cut in the run's place."""
    cut_bytes = pd.Series(sizes, dtype="int64").groupby(owner).sum()
    kept = [int(i) for i in cut_bytes.index if complete[i]]
    return pd.DataFrame(
        {
            "source_file": source,
            "source_line": [line_numbers[i] for i in kept],
            "column": [next((n for n, value in zip(header, records[i]) if CUT_MARK in value), "") for i in kept],
            "reason": f"longer than {longest:,} characters (a run without a comma or line break, not read)",
            "raw_row": [
                json.dumps(
                    {n: v.replace(CUT_MARK, f"[{cut_bytes[i]:,} bytes not kept]") for n, v in zip(header, records[i])},
                    ensure_ascii=False,
                )
                for i in kept
            ],
        }
    )


def parse_catalog_csv(
    data: bytes, source: str, fallback_encoding: str | None = None, limits: InputLimits = InputLimits()
) -> ParsedFile:
    """Read one catalog CSV: file-level faults raise InputFileError, row-level faults are quarantined."""
    read = read_csv_rows(data, source, REQUIRED_COLUMNS, fallback_encoding, limits)
    header = read.rows.columns
    rows = read.rows.reindex(
        columns=[*SOURCE_COLUMNS, *REQUIRED_COLUMNS, *[c for c in OPTIONAL_COLUMNS if c in header]]
    )
    valid, rejected = validate_rows(rows, limits)
    return ParsedFile(valid.reset_index(drop=True), concat_rejected([read.rejected, rejected]), read.fallback_lines)


def _read_records(text: str, source: str, required: tuple[str, ...]) -> tuple[list[list[str]], list[int], list[str]]:
    """Split CSV text into records, with the line each record starts on, checking the header."""
    # a popular product's reviewer lists can hold thousands of entries: lift csv's 128 KiB field limit
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except (StopIteration, csv.Error) as error:
        raise InputFileError(source, f"not a CSV file ({error})") from error
    missing = [name for name in required if name not in header]
    if missing:
        line = ",".join(header)
        for delimiter, name in OTHER_DELIMITERS.items():
            if set(required) <= {field.strip() for field in line.split(delimiter)}:
                raise InputFileError(
                    source,
                    f"the delimiter is a {name} ({delimiter!r}), not a comma: export the file as comma-separated",
                )
        hint = " (is the delimiter a comma?)" if len(header) == 1 else ""
        raise InputFileError(source, f"required columns missing: {', '.join(missing)}{hint}")
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise InputFileError(source, f"columns appear more than once: {', '.join(repeated)}")
    records, starts = [], []
    start = reader.line_num + 1
    try:
        for record in reader:
            if record:
                records.append(record)
                starts.append(start)
            start = reader.line_num + 1
    except csv.Error as error:
        raise InputFileError(source, f"not a valid CSV file at line {reader.line_num}: {error}") from error
    if not records:
        raise InputFileError(source, "the file has a header but no rows")
    return records, starts, header


# An empty entry of a comma-joined list: "U1,,U3", "U1,", ",U2" (or a blank field).
EMPTY_LIST_ITEM = r"(?:^|,)\s*(?:,|$)"


def _too_long(values: pd.Series, column: str, limits: InputLimits) -> pd.Series:
    """Fields above the scalar limit, or (list columns) with an item above the per-item limit."""
    if column not in LIST_LIKE_COLUMNS:
        return values.str.len() > limits.max_field_chars
    return _longest_item(values, limits.max_item_chars, strip=False) > limits.max_item_chars


def _faults(rows: pd.DataFrame, limits: InputLimits) -> list[tuple[pd.Series, str, str]]:
    """(mask of offending rows, column, reason) for every row-level rule, in the order they are checked."""
    data_columns = [c for c in rows.columns if c not in SOURCE_COLUMNS]
    faults = [(rows[c].str.contains(CONTROL_CHARACTERS, regex=True), c, "control character") for c in data_columns]
    faults += [
        (_too_long(rows[c], c, limits), c, f"an item longer than {limits.max_item_chars:,} characters")
        if c in LIST_LIKE_COLUMNS
        else (_too_long(rows[c], c, limits), c, f"longer than {limits.max_field_chars:,} characters")
        for c in data_columns
    ]
    faults.append((rows["product_id"].str.strip() == "", "product_id", "missing product_id"))
    faults.append(
        (
            rows["product_id"].str.strip().str.len() > MAX_ID_CHARS,
            "product_id",
            f"longer than {MAX_ID_CHARS} characters",
        )
    )
    for column, low, high in (
        ("rating", 0.0, 5.0),
        ("discounted_price", 0.0, MAX_NUMBER),
        ("actual_price", 0.0, MAX_NUMBER),
        ("discount_percentage", 0.0, 100.0),
    ):
        value = parse_number(rows[column])
        faults.append((value.isna(), column, f"{column} is not a number"))
        faults.append((value.notna() & ~value.between(low, high), column, f"{column} out of range"))
    count = rows["rating_count"]
    value = parse_number(count)
    faults.append((count.str.strip().ne("") & value.isna(), "rating_count", "rating_count is not a number"))
    faults.append((value > MAX_NUMBER, "rating_count", "rating_count out of range"))
    users = split_list(rows["user_id"]).str.len()
    faults.append((rows["user_id"].str.strip() == "", "user_id", "no reviewers listed"))
    faults += [
        (rows[c].str.contains(EMPTY_LIST_ITEM, regex=True), c, f"an empty {c} in the list")
        for c in ("user_id", "review_id")
    ]
    faults.append(
        (
            _longest_item(rows["user_id"], MAX_ID_CHARS) > MAX_ID_CHARS,
            "user_id",
            f"a user_id longer than {MAX_ID_CHARS} characters",
        )
    )
    faults.append(
        (split_list(rows["review_id"]).str.len() != users, "review_id", "review_id and user_id lists differ in length")
    )
    for column, (low, high), what in (
        ("timestamp", TIMESTAMP_RANGE, "whole epoch seconds"),
        ("age", AGE_RANGE, "a whole number of years"),
    ):
        if column in rows.columns:
            faults += _per_reviewer_faults(rows[column], users, column, low, high, what)
    return faults


def _longest_item(values: pd.Series, shortest: int, strip: bool = True) -> pd.Series:
    """The length of the longest item (stripped with `strip`) of each comma-joined list, or 0 where the whole
    field is not above `shortest` (only those fields are split)."""
    items = split_list(values[values.str.len() > shortest]).explode()
    longest = (items.str.strip() if strip else items).str.len().groupby(level=0).max()
    return longest.reindex(values.index, fill_value=0)


def _per_reviewer_faults(
    values: pd.Series, users: pd.Series, column: str, low: int, high: int, what: str
) -> list[tuple[pd.Series, str, str]]:
    """An optional per-reviewer column (one value, or a list aligned with user_id; an empty item is not given):
    a list of another length, or an item that is not a whole number in [low, high]."""
    items = split_list(values)
    flat = items.explode()
    given = flat.str.strip().fillna("") != ""
    invalid = (given & whole_numbers(flat, low, high).isna()).groupby(level=0).any()
    return [
        ((items.str.len() != 1) & (items.str.len() != users), column, f"{column} and user_id lists differ in length"),
        (invalid.reindex(values.index, fill_value=False), column, f"{column} is not {what} from {low:,} to {high:,}"),
    ]


def conflicting_reviews(rows: pd.DataFrame) -> pd.Series:
    """Rows that list a review id an earlier row of the same product gave to another user or another text.

    Repeated product rows with the same reviews are fine (they are merged); the first row with a
    review id is kept and the rows that contradict it are returned (a boolean mask).
    """
    repeated = rows["product_id"].str.strip().duplicated(keep=False)
    conflicts = pd.Series(False, index=rows.index)
    if not repeated.any():
        return conflicts
    part = rows[repeated]
    reviewers = reviewer_rows(part).assign(row=np.repeat(part.index.to_numpy(), split_list(part["user_id"]).str.len()))
    content = ["user_id", "review_title", "review_content"]
    first = reviewers.drop_duplicates(["product_id", "review_id"])[["product_id", "review_id", *content]]
    paired = reviewers.merge(first, on=["product_id", "review_id"], suffixes=("", "_first"))
    differs = np.logical_or.reduce([paired[c].to_numpy() != paired[f"{c}_first"].to_numpy() for c in content])
    conflicts[rows.index.isin(paired.loc[differs, "row"])] = True
    return conflicts


def validate_rows(rows: pd.DataFrame, limits: InputLimits = InputLimits()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into valid ones and a quarantine with the first fault of each rejected row."""
    rejected, records = first_faults(rows, _faults(rows, limits))
    conflicts = conflicting_reviews(rows[~rejected]).reindex(rows.index, fill_value=False)
    reason = "review_id already given to another user or text for this product"
    rejected, more = first_faults(rows, [(conflicts, "review_id", reason)], rejected)
    return rows[~rejected], concat_rejected(records + more)


def first_faults(
    rows: pd.DataFrame, faults: Iterable[tuple[pd.Series, str, str]], rejected: pd.Series | None = None
) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Each row's first fault (mask, column, reason; a missing mask value counts as a fault): the mask
    of faulty rows, `rejected` ones included, and quarantine records for the newly faulty ones."""
    rejected = pd.Series(False, index=rows.index) if rejected is None else rejected.copy()
    records = []
    for mask, column, reason in faults:
        new = mask.fillna(True) & ~rejected
        if new.any():
            records.append(rejection_records(rows[new], column, reason))
            rejected |= new
    return rejected, records


def rejection_records(rows: pd.DataFrame, column: str, reason: str) -> pd.DataFrame:
    """Quarantine records for rows, keeping the raw row as JSON."""
    raw = rows.drop(columns=list(SOURCE_COLUMNS)).to_dict(orient="records")
    return pd.DataFrame(
        {
            "source_file": rows["source_file"].to_numpy(),
            "source_line": rows["source_line"].to_numpy(),
            "column": column,
            "reason": reason,
            "raw_row": [json.dumps(r, ensure_ascii=False) for r in raw],
        }
    )


def concat_rejected(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate quarantine frames into the canonical column order and types."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "source_line" else "string") for c in REJECTED_COLUMNS})
    out = pd.concat(frames, ignore_index=True)[list(REJECTED_COLUMNS)]
    return out.astype(
        {"source_file": "string", "source_line": "int64", "column": "string", "reason": "string", "raw_row": "string"}
    )
