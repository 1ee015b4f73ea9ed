"""A suppression list: addresses (EMAIL) and/or customers (USER_ID) never written to, with an optional REASON."""

from __future__ import annotations

from recsys_assets.catalog.reading import InputFileError, concat_rejected, first_faults, read_csv_rows
from recsys_assets.formats.rules import id_faults, text, text_faults
from recsys_assets.formats.tables import DEFAULT_OPTIONS, SUPPRESSION_COLUMNS, FileTables, ReadOptions, empty_table

FORMAT = "suppression"
COLUMNS = ("EMAIL", "USER_ID", "REASON")
DEFAULT_REASON = "suppressed"


def read_suppression(data: bytes, source: str, options: ReadOptions = DEFAULT_OPTIONS) -> FileTables:
    """One row per suppressed address or customer (emails lower case; a repeated pair keeps its last row); a row
    with neither is quarantined."""
    read = read_csv_rows(data, source, (), options.fallback_encoding, options.limits)
    present = [c for c in read.rows.columns if c in COLUMNS]
    if not {"EMAIL", "USER_ID"} & set(present):
        raise InputFileError(source, "not a suppression list: required columns missing: EMAIL or USER_ID")
    rows = read.rows[["source_file", "source_line", *present]]
    email, user_id = text(rows, "EMAIL").str.lower(), text(rows, "USER_ID")
    reason = text(rows, "REASON")
    faults = [
        *text_faults(rows, options.limits),
        ((email == "") & (user_id == ""), "EMAIL" if "EMAIL" in present else "USER_ID", "no EMAIL or USER_ID"),
        *id_faults(rows, "USER_ID", required=False),
    ]
    rejected, records = first_faults(rows, faults)
    suppressions = rows.assign(email=email, user_id=user_id, reason=reason.where(reason != "", DEFAULT_REASON))
    suppressions = suppressions[~rejected].drop_duplicates(["email", "user_id"], keep="last")
    return FileTables(
        FORMAT,
        suppressions=suppressions[list(SUPPRESSION_COLUMNS)]
        .reset_index(drop=True)
        .astype(empty_table(SUPPRESSION_COLUMNS).dtypes.to_dict()),
        rejected=concat_rejected([read.rejected, *records]),
        fallback_lines=read.fallback_lines,
    )
