"""`recsys evaluate`: read Personalize CSVs or an input file of a retailer's format (quarantining bad rows), compare
the models and print the report."""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_assets.aws_formats.personalize_datasets import personalize_items
from recsys_assets.catalog.fields import MAX_ID_CHARS
from recsys_assets.catalog.reading import SOURCE_COLUMNS, concat_rejected, first_faults, read_csv_rows
from recsys_assets.files import atomic_file, describe_os_error
from recsys_assets.formats.order_lines import FORMAT as ORDER_LINES
from recsys_assets.formats.order_lines import read_order_lines
from recsys_assets.formats.tables import FileTables
from recsys_assets.interactions import event_interactions
from recsys_assets.ml.evaluation import compare_models
from recsys_assets.ml.metrics import METRIC_NAMES
from recsys_assets.ml.registry import DEFAULT_MODEL

# Larger EVENT_VALUEs overflow the models' float32 weights (ALS's confidence is 1 + alpha x EVENT_VALUE).
MAX_EVENT_VALUE = 1e6


def evaluate_command(args: argparse.Namespace) -> int:
    """Run `recsys evaluate` with the parsed arguments; 0 on success, 2 when there is nothing to measure (an
    unreadable file or one without a valid row raise, for `main` to report)."""
    if args.input:
        interactions, items = input_interactions(read_input_file(args.input, args.format), args.input)
    else:
        interactions = read_interactions(args.interactions)
        items = read_items(args.items) if args.items else None
    source = args.input or args.interactions
    rejected = pd.concat([interactions.rejected, *([items.rejected] if items else [])], ignore_index=True)
    try:
        report_quarantine(rejected, args.quarantine)
    except OSError as error:
        print(f"recsys evaluate failed: --quarantine {describe_os_error(error)}", file=sys.stderr)
        return 2
    report = evaluation_report(interactions.rows, items.rows if items else None)
    protocol = report["protocol"]
    if not any(protocol["relevant_test_users"]):
        print(
            f"recsys evaluate failed: {source}: nothing to measure. Of {protocol['users']:,} users, "
            f"{max(protocol['test_users']):,} were drawn as test users (among those with 2 or more interactions), "
            "and none of them has a newest interaction with a positive EVENT_VALUE",
            file=sys.stderr,
        )
        return 2
    protocol["quarantined_rows"] = len(rejected)
    print(json.dumps(report) if args.json else report_table(report))
    return 0


def report_quarantine(rejected: pd.DataFrame, path: str | None, shown: int = 10) -> None:
    """Say on stderr which rows were left out and why (the first `shown`); all of them go to `path` when given."""
    if path:
        with atomic_file(path, "w", encoding="utf-8", newline="") as output:
            rejected.to_csv(output, index=False)
    if rejected.empty:
        return
    lines = [
        f"  {r.source_file} line {r.source_line}{f', {r.column}' if r.column else ''}: {r.reason}"
        for r in rejected.head(shown).itertuples()
    ]
    where = f"all of them in {path}" if path else "--quarantine PATH writes all of them"
    print(
        "\n".join(
            [f"recsys evaluate: {len(rejected):,} rows quarantined, left out of the evaluation ({where}):", *lines]
        ),
        file=sys.stderr,
    )


def evaluation_report(interactions: pd.DataFrame, items: pd.DataFrame | None = None, seed: int = 0) -> dict:
    """`recsys evaluate`'s result: {"default_model", "models": {name: metrics}, "protocol"}."""
    return {"default_model": DEFAULT_MODEL, **compare_models(interactions, items, seed=seed)}


def report_table(report: dict) -> str:
    """The report as a fixed-width table: one row per metric, one column per model (default marked *)."""
    names = list(report["models"])
    header = f"{'metric':<44}" + "".join(
        f"{name + ('*' if name == report['default_model'] else ''):>18}" for name in names
    )
    rows = [
        f"{metric:<44}" + "".join(f"{_formatted(report['models'][name][metric]):>18}" for name in names)
        for metric in METRIC_NAMES
    ]
    protocol = report["protocol"]
    footer = (
        f"* default model. {protocol['splits']} split(s), seeds {protocol['seeds']}, "
        f"test users {protocol['test_users']}; spread (std across splits) in --json"
    )
    if protocol["duplicate_interactions"]:
        footer += f"; {protocol['duplicate_interactions']} duplicate rows counted once"
    return "\n".join([header, *rows, footer])


def _formatted(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


@dataclass(frozen=True)
class ReadTable:
    """The valid rows of an input CSV and the quarantined ones (catalog.REJECTED_COLUMNS)."""

    rows: pd.DataFrame
    rejected: pd.DataFrame


def read_input_file(path: str, input_format: str) -> FileTables:
    """An input file of one of the formats (docs/own-data.md); order lines with their reader (gzip or not), the
    others through `formats.reading.read_input`."""
    data = Path(path).read_bytes()
    if input_format == ORDER_LINES:
        return read_order_lines(gzip.decompress(data) if data.startswith(b"\x1f\x8b") else data, path)
    from recsys_assets.formats.reading import read_input

    return read_input(data, path, format=input_format)


def input_interactions(tables: FileTables, source: str) -> tuple[ReadTable, ReadTable]:
    """The interactions of a file's events (`interactions.event_interactions`; a review needs sentiment, so
    reviews are `recsys run`'s) and its products as Personalize's items, with the file's quarantine."""
    interactions = event_interactions(tables.events)
    if interactions.empty:
        raise ValueError(
            f"{source}: no customer's event to evaluate ({len(tables.reviews):,} reviews: their sentiment is "
            "`recsys run`'s; evaluate its interactions with --interactions)"
        )
    empty = tables.rejected.iloc[0:0]
    return ReadTable(interactions, tables.rejected), ReadTable(personalize_items(tables.products), empty)


def read_interactions(path: str) -> ReadTable:
    """A Personalize interactions CSV. Rows with an empty USER_ID or ITEM_ID, or one longer than MAX_ID_CHARS, a
    TIMESTAMP that is not whole epoch seconds or an EVENT_VALUE that is not a number within MAX_EVENT_VALUE of 0
    are quarantined (so are rows with the wrong number of fields); an empty or absent EVENT_VALUE counts 1."""

    def parse(table: pd.DataFrame) -> pd.DataFrame:
        return table.assign(TIMESTAMP=_timestamps(table["TIMESTAMP"]), EVENT_VALUE=_event_values(table))

    def faults(table: pd.DataFrame) -> list[tuple[pd.Series, str, str]]:
        return [
            *_id_faults(table, "USER_ID"),
            *_id_faults(table, "ITEM_ID"),
            (table["TIMESTAMP"].isna(), "TIMESTAMP", "TIMESTAMP is not whole epoch seconds"),
            (
                table["EVENT_VALUE"].isna(),
                "EVENT_VALUE",
                f"EVENT_VALUE is not a number from {-MAX_EVENT_VALUE:,.0f} to {MAX_EVENT_VALUE:,.0f}",
            ),
        ]

    valid, rejected = _read_valid_rows(path, ("USER_ID", "ITEM_ID", "TIMESTAMP"), faults, parse)
    return ReadTable(valid.astype({"TIMESTAMP": "int64"}), rejected)


def read_items(path: str) -> ReadTable:
    """A Personalize items CSV: ITEM_ID plus metadata columns (CATEGORY, NAME, DESCRIPTION, ...); rows
    with an empty ITEM_ID, one longer than MAX_ID_CHARS, or the wrong number of fields are quarantined."""

    def faults(table: pd.DataFrame) -> list[tuple[pd.Series, str, str]]:
        return _id_faults(table, "ITEM_ID")

    return ReadTable(*_read_valid_rows(path, ("ITEM_ID",), faults))


def _id_faults(table: pd.DataFrame, column: str) -> list[tuple[pd.Series, str, str]]:
    """An id that is empty, or longer than Personalize accepts (both after stripping spaces)."""
    length = table[column].str.strip().str.len()
    return [
        (length == 0, column, f"{column} is empty"),
        (length > MAX_ID_CHARS, column, f"{column} is longer than {MAX_ID_CHARS} characters"),
    ]


def _timestamps(text: pd.Series) -> pd.Series:
    """Whole epoch seconds as float64 (exact below 2**53), NaN where the text is not one."""
    number = pd.to_numeric(text.str.strip(), errors="coerce").astype("float64")
    return number.where(np.isfinite(number) & (number == number.round()) & (number.abs() < 2.0**53))


def _event_values(table: pd.DataFrame) -> pd.Series:
    """EVENT_VALUE as float64: 1 where absent or empty, NaN where it is not a number within MAX_EVENT_VALUE of 0."""
    if "EVENT_VALUE" not in table.columns:
        return pd.Series(1.0, index=table.index)
    number = pd.to_numeric(table["EVENT_VALUE"].str.strip().replace("", "1"), errors="coerce").astype("float64")
    return number.where(number.abs() <= MAX_EVENT_VALUE)


def _read_valid_rows(
    path: str,
    required: tuple[str, ...],
    faults: Callable[[pd.DataFrame], list[tuple[pd.Series, str, str]]],
    parse: Callable[[pd.DataFrame], pd.DataFrame] = lambda table: table,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of a CSV without fault, parsed, and quarantine records (first fault, by line) for the others.

    `parse` converts the text once (NaN where it cannot); `faults` judges the parsed rows, while the
    quarantine keeps the raw ones. A file with no valid row is an error naming its first fault.
    """
    read = read_csv_rows(Path(path).read_bytes(), path, required)
    parsed = parse(read.rows)
    rejected, records = first_faults(read.rows, faults(parsed))
    quarantine = concat_rejected([read.rejected, *records]).sort_values("source_line", kind="stable", ignore_index=True)
    if rejected.all():
        first = quarantine.iloc[0]
        raise ValueError(
            f"{path}: no valid row; line {first['source_line']}, {first['column'] or 'row'}: {first['reason']}"
        )
    return parsed[~rejected].drop(columns=list(SOURCE_COLUMNS)).reset_index(drop=True), quarantine
