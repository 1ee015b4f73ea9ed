"""Object storage: where inputs are read from and where tables, models and emails are written."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from recsys_assets.files import write_atomic
from recsys_assets.home_lock import hold_home

# A text cell starting with one of these is a formula to a spreadsheet (tab and CR: OWASP's list).
FORMULA_START = r"^[=+\-@\t\r]"


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading `'`; numbers stay numbers."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.astype("string").where(values.map(lambda value: isinstance(value, str)).astype(bool))
        formula = text.str.contains(FORMULA_START, regex=True).fillna(False).astype(bool)
        out[column] = values.where(~formula, "'" + text)
    return out


@dataclass(frozen=True)
class StoredObject:
    """An object in the store: its key, a tag that changes when it is rewritten, and when it was written."""

    key: str
    version: str
    modified: float


class ObjectStore(ConfigurableResource, ABC):
    """Keys are '/'-separated paths relative to the store's root."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int:
        """Bytes of an object, without reading it."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """Keys under a prefix (or the key itself when it names one object), sorted."""

    @abstractmethod
    def list_objects(self, prefix: str) -> list[StoredObject]:
        """The objects under a prefix with their version and modification time (for sensors)."""

    @abstractmethod
    def delete(self, keys: list[str]) -> None: ...

    @abstractmethod
    def written_here(self, key: str, inbox: str) -> bool:
        """Whether `key`, listed under `inbox`, is in the store's own folder (an output, not an input): an inbox
        that holds the store's folder (a home inside the input folder) skips it; an inbox inside it does not."""

    def list_inputs(self, inbox: str) -> list[StoredObject]:
        """`list_objects(inbox)` without the store's own files (`written_here`): what a run may read as input."""
        return [stored for stored in self.list_objects(inbox) if not self.written_here(stored.key, inbox)]

    @abstractmethod
    def location(self, key: str) -> str:
        """Where a person finds the object (a path or an s3:// URL)."""

    def write_parquet(self, key: str, frame: pd.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        self.write_bytes(key, buffer.getvalue())

    def read_parquet(self, key: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.read_bytes(key)))

    def write_csv(self, key: str, frame: pd.DataFrame, for_spreadsheets: bool = False) -> None:
        """UTF-8 CSV. `for_spreadsheets`: a file people open in a spreadsheet, so text cells that a
        spreadsheet would run as a formula are neutralized; leave it off for machine-read files
        (Personalize imports), which must carry the values unchanged."""
        table = neutralize_formulas(frame) if for_spreadsheets else frame
        self.write_bytes(key, table.to_csv(index=False, lineterminator="\n").encode("utf-8"))

    def replace_prefix(self, prefix: str, objects: dict[str, bytes]) -> None:
        """Write `objects` (keys under `prefix`) and delete every other key there, so re-runs leave no strays."""
        for key, data in objects.items():
            self.write_bytes(key, data)
        self.delete_others(prefix, set(objects))

    def delete_others(self, prefix: str, keep: set[str]) -> None:
        """Delete every key under `prefix` that is not in `keep`."""
        self.delete(sorted(set(self.list_keys(prefix)) - keep))


class LocalObjectStore(ObjectStore):
    """A folder on the local disk. Keys may also be absolute or relative paths outside it (inputs).

    While a step (or sensor tick) uses it, it holds the folder shared (`home_lock`): steps run side by side,
    never while a `recsys run` holds the folder."""

    root: str = Field(default=".recsys", description="Folder that holds everything the pipeline writes.")
    _holds: ExitStack = PrivateAttr(default_factory=ExitStack)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._holds.enter_context(hold_home(self.root, "a Dagster step or sensor tick", exclusive=False))

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self._holds.close()

    def _path(self, key: str) -> Path:
        path = Path(key)
        return path if path.is_absolute() else Path(self.root) / path

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        """A unique temporary file in the key's folder renamed into place: readers never see a partial file,
        and a failed write leaves nothing behind (`files.atomic_file`)."""
        write_atomic(self._path(key), data)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def list_keys(self, prefix: str) -> list[str]:
        """Keys in the prefix's own form: under the root for a relative prefix, absolute paths for an absolute one."""
        base = self._path(prefix)
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        folder = f"{prefix.rstrip('/')}/" if prefix.rstrip("/") else ""
        relative = sorted(path.relative_to(base) for path in base.rglob("*") if path.is_file())
        return [folder + path.as_posix() for path in relative if not any(part.startswith(".") for part in path.parts)]

    def list_objects(self, prefix: str) -> list[StoredObject]:
        """Version = modification time in ns and size, so a file rewritten in place gets a new version."""
        stats = [(key, self._path(key).stat()) for key in self.list_keys(prefix)]
        return [StoredObject(key, f"{stat.st_mtime_ns}-{stat.st_size}", stat.st_mtime) for key, stat in stats]

    def delete(self, keys: list[str]) -> None:
        """Delete the files, and the folders under the root that they leave empty."""
        root = Path(self.root).resolve()
        for key in keys:
            path = self._path(key)
            path.unlink(missing_ok=True)
            folder = path.parent.resolve()
            while folder != root and folder.is_relative_to(root) and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent

    def written_here(self, key: str, inbox: str) -> bool:
        root = Path(self.root).resolve()
        folder = self._path(inbox).resolve()
        inbox_inside = folder != root and folder.is_relative_to(root)
        return not inbox_inside and self._path(key).resolve().is_relative_to(root)

    def location(self, key: str) -> str:
        return str(self._path(key).resolve())
