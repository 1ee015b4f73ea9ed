"""Profile store: products, users and recommendations, keyed as the DynamoDB tables are, and the suppression list."""

from __future__ import annotations

import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.formats.tables import SUPPRESSION_COLUMNS, empty_table

SUPPRESSIONS = "suppressions"
# the tables the pipeline writes (a serving copy it rebuilds); the suppression list is the retailer's, never deleted
SERVING_TABLES = ("products", "users", "recommendations")
# table -> key columns (partition key, optional sort key)
TABLE_KEYS = {
    "products": ("product_id",),
    "users": ("user_id",),
    "recommendations": ("user_id", "rank"),
    SUPPRESSIONS: ("suppression_id",),
}
# One row per suppressed address or customer: suppression_id is "email:<address, lower case>" or "user_id:<id>".
STORED_SUPPRESSION_COLUMNS = ("suppression_id", "email", "user_id", "reason", "added_at")


class ProfileStore(ConfigurableResource, ABC):
    """Serving tables for other systems (a storefront, a CRM) to read profiles and recommendations, and the
    suppression list every campaign honours."""

    @abstractmethod
    def replace_table(self, table: str, frame: pd.DataFrame) -> int:
        """Make `table` hold exactly `frame`'s rows (upserting by key); returns the row count."""

    @abstractmethod
    def replace_rows(self, table: str, frame: pd.DataFrame, scope_column: str, scope: pd.Series) -> int:
        """Make the rows of `table` whose `scope_column` is in `scope` exactly `frame`'s rows; others stay."""

    @abstractmethod
    def keep_only(self, table: str, column: str, values: pd.Series) -> int:
        """Delete the rows of `table` whose `column` is not in `values`; returns the row count."""

    @abstractmethod
    def upsert_rows(self, table: str, frame: pd.DataFrame) -> int:
        """Put `frame`'s rows into `table` (created if missing), replacing those with the same key; the row count."""

    @abstractmethod
    def count(self, table: str) -> int: ...

    @abstractmethod
    def read_table(self, table: str) -> pd.DataFrame: ...

    @abstractmethod
    def table_location(self, table: str) -> str:
        """Where `table` is, for a person to find it (the SQLite file and table, the DynamoDB table)."""

    def add_suppressions(self, entries: pd.DataFrame) -> int:
        """Add entries (`email` and/or `user_id`, `reason`) to the suppression list, which every campaign honours; an
        entry with both suppresses the address and the customer. Returns the list's row count."""
        return self.upsert_rows(SUPPRESSIONS, stored_suppressions(entries, int(time.time())))

    def suppressions(self) -> pd.DataFrame:
        """The suppression list as SUPPRESSION_COLUMNS (source_file: the table's location, source_line 0); no rows
        while nothing was added."""
        if not self.count(SUPPRESSIONS):
            return empty_table(SUPPRESSION_COLUMNS)
        stored = self.read_table(SUPPRESSIONS)
        return pd.DataFrame(
            {
                "email": stored["email"].astype("string").fillna(""),
                "user_id": stored["user_id"].astype("string").fillna(""),
                "reason": stored["reason"].astype("string").fillna(""),
                "source_file": pd.Series(self.table_location(SUPPRESSIONS), index=stored.index, dtype="string"),
                "source_line": pd.Series(0, index=stored.index, dtype="int64"),
            }
        )


def stored_suppressions(entries: pd.DataFrame, added_at: int) -> pd.DataFrame:
    """Entries (email, user_id, reason) as rows of the suppressions table (STORED_SUPPRESSION_COLUMNS): one per
    address (stripped, lower case) and one per user id; an entry with neither is a ValueError."""
    email = entries["email"].astype("string").fillna("").str.strip().str.lower()
    user_id = entries["user_id"].astype("string").fillna("").str.strip()
    reason = entries["reason"].astype("string").fillna("") if "reason" in entries else ""
    empty = email.eq("") & user_id.eq("")
    if empty.any():
        raise ValueError(f"{int(empty.sum())} suppression entries have neither an email nor a user_id")
    by_email = pd.DataFrame({"suppression_id": "email:" + email, "email": email, "user_id": "", "reason": reason})
    by_user = pd.DataFrame({"suppression_id": "user_id:" + user_id, "email": "", "user_id": user_id, "reason": reason})
    rows = pd.concat([by_email[email.ne("")], by_user[user_id.ne("")]], ignore_index=True).astype("string")
    return rows.assign(added_at=pd.Series(added_at, index=rows.index, dtype="int64"))[list(STORED_SUPPRESSION_COLUMNS)]


class ProfileStoreError(RuntimeError):
    """The profile store's file cannot be used; the message names it and says what to do."""


# SQLite's messages for a file that is not (or no longer) a database
CORRUPT_MESSAGES = ("file is not a database", "database disk image is malformed")


class SqliteProfileStore(ProfileStore):
    """A single SQLite file; each table has a primary key, so re-runs never duplicate rows.

    The file is a serving copy of the pipeline's tables: a corrupt one is not repaired (a segment run would
    rebuild only its own rows) but named, to be deleted; the next `recsys run` rebuilds it whole."""

    path: str = Field(default=".recsys/profiles.sqlite", description="SQLite database file.")
    busy_timeout_seconds: float = Field(
        default=60.0, gt=0, description="How long a write waits for another run's write to the same file to finish."
    )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for the block; a SQLite error is a ProfileStoreError naming the file."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            with closing(sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_seconds)) as conn:
                yield conn
        except sqlite3.Error as error:
            if str(error) in CORRUPT_MESSAGES:
                raise ProfileStoreError(
                    f"{self.path}: {error}; it is a serving copy of the pipeline's tables: delete it and run "
                    "again (recsys run rebuilds it)"
                ) from error
            raise ProfileStoreError(f"{self.path}: {error}") from error

    def replace_table(self, table: str, frame: pd.DataFrame) -> int:
        with self._connect() as connection, write_transaction(connection):
            # table and column names come from TABLE_KEYS and our own DataFrames, never from input data
            connection.execute(f'DROP TABLE IF EXISTS "{table}"')  # nosec B608
            _insert(connection, table, frame)
        return self.count(table)

    def replace_rows(self, table: str, frame: pd.DataFrame, scope_column: str, scope: pd.Series) -> int:
        """Delete the scope's rows and insert `frame` in one write transaction, so concurrent runs writing
        other scopes wait for each other; the table is created if missing and gains the frame's new
        columns (other rows get NULL there), never dropped."""
        with self._connect() as connection, write_transaction(connection):
            # table and column names come from TABLE_KEYS and our own DataFrames, never from input data
            existing = _columns(connection, table)
            if existing:
                for column in [str(c) for c in frame.columns if str(c) not in existing]:
                    connection.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}"')  # nosec B608
                _temp_values(connection, "scope", scope)
                connection.execute(f'DELETE FROM "{table}" WHERE "{scope_column}" IN (SELECT value FROM scope)')  # nosec B608
            _insert(connection, table, frame)
        return self.count(table)

    def keep_only(self, table: str, column: str, values: pd.Series) -> int:
        with self._connect() as connection, write_transaction(connection):
            if _columns(connection, table):
                _temp_values(connection, "kept", values)
                connection.execute(f'DELETE FROM "{table}" WHERE "{column}" NOT IN (SELECT value FROM kept)')  # nosec B608
        return self.count(table)

    def upsert_rows(self, table: str, frame: pd.DataFrame) -> int:
        with self._connect() as connection, write_transaction(connection):
            _insert(connection, table, frame)
        return self.count(table)

    def table_location(self, table: str) -> str:
        return f"{Path(self.path).resolve()}#{table}"

    def count(self, table: str) -> int:
        with self._connect() as connection:
            exists = connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone()
            if not exists:
                return 0
            return connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # nosec B608

    def read_table(self, table: str) -> pd.DataFrame:
        with self._connect() as connection:
            return pd.read_sql_query(f'SELECT * FROM "{table}"', connection)  # nosec B608


@contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (the write lock first, waiting up to the busy timeout), then COMMIT, or ROLLBACK on error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _columns(connection: sqlite3.Connection, table: str) -> list[str]:
    """The table's column names; none when it does not exist."""
    return [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]  # nosec B608 (our table names)


def _insert(connection: sqlite3.Connection, table: str, frame: pd.DataFrame) -> None:
    """Create `table` (keyed by TABLE_KEYS) if it does not exist and upsert `frame`'s rows into it."""
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    keys = ", ".join(f'"{k}"' for k in TABLE_KEYS[table])
    placeholders = ", ".join("?" for _ in frame.columns)
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    connection.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({columns}, PRIMARY KEY ({keys}))')  # nosec B608
    connection.executemany(f'INSERT OR REPLACE INTO "{table}" ({columns}) VALUES ({placeholders})', rows)  # nosec B608


def _temp_values(connection: sqlite3.Connection, name: str, values: pd.Series) -> None:
    """A temporary one-column table `name` of the distinct `values` (for IN / NOT IN)."""
    connection.execute(f"CREATE TEMP TABLE {name} (value PRIMARY KEY)")
    connection.executemany(f"INSERT OR IGNORE INTO {name} VALUES (?)", ((value,) for value in pd.unique(values)))  # nosec B608
