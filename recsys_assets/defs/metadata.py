"""Metadata shown in the Dagster UI: row counts, previews, shares."""

import pandas as pd
from dagster import MetadataValue

PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 60


def markdown_table(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> MetadataValue:
    """A small markdown table (cells cut short, pipes escaped) for the asset's preview."""
    head = frame.head(rows).astype("string").fillna("")
    cells = head.apply(lambda col: col.str.slice(0, PREVIEW_CELL_CHARS).str.replace("|", "\\|", regex=False))
    cells = cells.apply(lambda col: col.str.replace(r"\s+", " ", regex=True))
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + " --- |" * len(frame.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False, name=None)]
    return MetadataValue.md("\n".join(lines))


def table_metadata(frame: pd.DataFrame, **extra) -> dict:
    """Row count and preview, plus any extra figures."""
    return {"dagster/row_count": len(frame), "preview": markdown_table(frame), **extra}


def share_table(counts: pd.Series, label: str) -> MetadataValue:
    """Counts and shares of a categorical column as a markdown table with a text bar."""
    total = max(int(counts.sum()), 1)
    lines = [f"| {label} | count | share | |", "| --- | ---: | ---: | --- |"]
    for name, count in counts.items():
        share = count / total
        cell = " ".join(str(name).split()).replace(
            "|", "\\|"
        )  # one line, pipes escaped: an error message stays in its cell
        lines.append(f"| {cell} | {count:,} | {share:.1%} | {'█' * round(share * 20)} |")
    return MetadataValue.md("\n".join(lines))
