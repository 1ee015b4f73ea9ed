"""A column-mapping file (TOML): per glob on a file's name, its format, the currency of its prices and the file's
names of our columns, so an export with other column names is read without code (docs/own-data.md)."""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import PurePath

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from recsys_assets.catalog.reading import InputFileError
from recsys_assets.formats.columns import AUTO, FORMAT_COLUMNS

FILE_KEYS = ("format", "currency", "columns")


class MappingError(InputFileError):
    """A mapping file that cannot be used; the message names the file and the key (or the TOML line)."""


@dataclass(frozen=True)
class FileMapping:
    """How to read the files one glob matches: the format (AUTO: detect it), the currency of their prices ("": the
    format's) and {our column: the file's column}."""

    format: str = AUTO
    currency: str = ""
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ColumnMapping:
    """The globs of a mapping file, in the file's order, with how to read the files each matches."""

    files: tuple[tuple[str, FileMapping], ...] = ()

    def for_file(self, name: str) -> FileMapping | None:
        """The mapping of the first glob that matches the file's name (its last path part), or None."""
        base = PurePath(name).name
        return next((mapping for glob, mapping in self.files if fnmatch.fnmatchcase(base, glob)), None)


def load_mapping(text: str, source: str) -> ColumnMapping:
    """Parse a mapping file; a bad one raises MappingError naming `source` and the key (or the TOML line)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(source, f"not valid TOML: {error}") from error
    unknown = [key for key in document if key != "files"]
    if unknown:
        raise MappingError(source, f'unknown key {unknown[0]!r} (a mapping file has [files."<glob>"] tables)')
    files = document.get("files", {})
    if not isinstance(files, dict):
        raise MappingError(source, "'files' must be tables: [files.\"<glob>\"]")
    return ColumnMapping(
        tuple((glob, _file_mapping(entry, source, f'files."{glob}"')) for glob, entry in files.items())
    )


def _file_mapping(entry: object, source: str, where: str) -> FileMapping:
    """One [files."<glob>"] table; `where` names it in errors."""
    if not isinstance(entry, dict):
        raise MappingError(source, f"{where}: must be a table with {', '.join(FILE_KEYS)}")
    unknown = [key for key in entry if key not in FILE_KEYS]
    if unknown:
        raise MappingError(source, f"{where}: unknown key {unknown[0]!r} (known: {', '.join(FILE_KEYS)})")
    format_name = entry.get("format", AUTO)
    if format_name != AUTO and format_name not in FORMAT_COLUMNS:
        raise MappingError(
            source, f"{where}.format: unknown format {format_name!r} (known: {AUTO}, {', '.join(FORMAT_COLUMNS)})"
        )
    currency = entry.get("currency", "")
    if not (isinstance(currency, str) and (currency == "" or (len(currency) == 3 and currency.isalpha()))):
        raise MappingError(source, f"{where}.currency: {currency!r} is not a 3-letter currency code")
    columns = entry.get("columns", {})
    if not isinstance(columns, dict):
        raise MappingError(source, f"{where}.columns: must be a table of our column = the file's column")
    known = FORMAT_COLUMNS.get(format_name) or tuple(c for names in FORMAT_COLUMNS.values() for c in names)
    by_key = {name.casefold(): name for name in known}
    ours = {}
    for name, theirs in columns.items():
        if name.casefold() not in by_key:
            what = f"a {format_name} column" if format_name != AUTO else "a column of any format"
            raise MappingError(source, f"{where}.columns.{name}: not {what}")
        if not isinstance(theirs, str) or not theirs.strip():
            raise MappingError(source, f"{where}.columns.{name}: must be the file's column name (text)")
        ours[by_key[name.casefold()]] = theirs.strip()
    repeated = sorted({theirs for theirs in ours.values() if list(ours.values()).count(theirs) > 1})
    if repeated:
        raise MappingError(source, f"{where}.columns: the file's column {repeated[0]!r} is given for two of ours")
    return FileMapping(format_name, currency.upper(), ours)
