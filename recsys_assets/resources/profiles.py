"""Profile store: products, users and recommendations, keyed as the DynamoDB tables are."""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from contextlib import closing
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

# table -> key columns (partition key, optional sort key)
TABLE_KEYS = {
    "products": ("product_id",),
    "users": ("user_id",),
    "recommendations": ("user_id", "rank"),
}


class ProfileStore(ConfigurableResource, ABC):
    """Serving tables for other systems (a storefront, a CRM) to read profiles and recommendations."""

    @abstractmethod
    def replace_table(self, table: str, frame: pd.DataFrame) -> int:
        """Make `table` hold exactly `frame`'s rows (upserting by key); returns the row count."""

    def replace_rows(self, table: str, frame: pd.DataFrame, scope_column: str, scope: pd.Series) -> int:
        """Make the rows of `table` whose `scope_column` is in `scope` exactly `frame`'s rows; others stay."""
        current = self.read_table(table) if self.count(table) else frame.iloc[:0]
        kept = current[~current[scope_column].isin(scope)]
        return self.replace_table(table, pd.concat([kept, frame], ignore_index=True) if len(kept) else frame)

    @abstractmethod
    def count(self, table: str) -> int: ...

    @abstractmethod
    def read_table(self, table: str) -> pd.DataFrame: ...


class SqliteProfileStore(ProfileStore):
    """A single SQLite file; each table has a primary key, so re-runs never duplicate rows."""

    path: str = Field(default=".recsys/profiles.sqlite", description="SQLite database file.")

    def _connect(self) -> sqlite3.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(self.path, isolation_level=None)

    def replace_table(self, table: str, frame: pd.DataFrame) -> int:
        keys = TABLE_KEYS[table]
        columns = [str(c) for c in frame.columns]
        quoted = ", ".join(f'"{c}"' for c in columns)
        placeholders = ", ".join("?" for _ in columns)
        key_list = ", ".join(f'"{k}"' for k in keys)
        rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
        with closing(self._connect()) as connection:
            # table and column names come from TABLE_KEYS and our own DataFrames, never from input data
            connection.execute("BEGIN")
            connection.execute(f'DROP TABLE IF EXISTS "{table}"')  # nosec B608
            connection.execute(f'CREATE TABLE "{table}" ({quoted}, PRIMARY KEY ({key_list}))')  # nosec B608
            connection.executemany(
                f'INSERT OR REPLACE INTO "{table}" ({quoted}) VALUES ({placeholders})', rows  # nosec B608
            )
            connection.execute("COMMIT")
        return self.count(table)

    def replace_rows(self, table: str, frame: pd.DataFrame, scope_column: str, scope: pd.Series) -> int:
        """Delete the scope's rows and insert `frame` in one transaction (the other rows are not touched)."""
        columns = [str(c) for c in frame.columns]
        with closing(self._connect()) as connection:
            existing = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]  # nosec B608 (our table names)
        if existing != columns:  # a new table, or new columns: rebuild it whole
            return super().replace_rows(table, frame, scope_column, scope)
        quoted = ", ".join(f'"{c}"' for c in columns)
        placeholders = ", ".join("?" for _ in columns)
        rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
        with closing(self._connect()) as connection:
            # table and column names come from TABLE_KEYS and our own DataFrames, never from input data
            connection.execute("BEGIN")
            connection.execute("CREATE TEMP TABLE scope (value PRIMARY KEY)")
            connection.executemany("INSERT OR IGNORE INTO scope VALUES (?)", ((value,) for value in pd.unique(scope)))
            connection.execute(f'DELETE FROM "{table}" WHERE "{scope_column}" IN (SELECT value FROM scope)')  # nosec B608
            connection.executemany(f'INSERT OR REPLACE INTO "{table}" ({quoted}) VALUES ({placeholders})', rows)  # nosec B608
            connection.execute("COMMIT")
        return self.count(table)

    def count(self, table: str) -> int:
        with closing(self._connect()) as connection:
            exists = connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone()
            if not exists:
                return 0
            return connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # nosec B608

    def read_table(self, table: str) -> pd.DataFrame:
        with closing(self._connect()) as connection:
            return pd.read_sql_query(f'SELECT * FROM "{table}"', connection)  # nosec B608
