"""DynamoDB profile store: the products, users, recommendations and suppressions tables, keyed as the SQLite store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pandas as pd
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pydantic import Field, PrivateAttr

from recsys_assets.resources.aws_clients import aws_client, retry_pending
from recsys_assets.resources.profile_store import SERVING_TABLES, TABLE_KEYS, ProfileStore

BATCH_WRITE_LIMIT = 25  # BatchWriteItem takes at most 25 requests
ITEM_SIZE_LIMIT = 400 * 1024  # bytes of attribute names and values; one larger item fails its whole batch
NUMBER_SIZE = 21  # the most bytes DynamoDB stores for a number
KEY_ATTRIBUTE_TYPES = {"product_id": "S", "user_id": "S", "rank": "N", "suppression_id": "S"}
KEY_ROLES = ("HASH", "RANGE")

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


class DynamoDBProfileStore(ProfileStore):
    """Tables `<table_prefix>products`, `<table_prefix>users`, `<table_prefix>recommendations` and
    `<table_prefix>suppressions` (on-demand capacity).

    A re-run leaves exactly the frame's rows (`replace_rows`: within a scope); missing values are left out of the
    item and an empty key is an error (docs/aws.md).
    """

    table_prefix: str = Field(default="recsys_", description="Prefix of the four table names.")
    region: str = Field(default="", description="AWS region; empty for AWS_REGION / AWS_DEFAULT_REGION.")
    create_tables: bool = Field(default=True, description="Create missing tables (PAY_PER_REQUEST) and wait for them.")
    write_attempts: int = Field(
        default=8, ge=1, description="Attempts per batch while DynamoDB returns UnprocessedItems."
    )
    retry_base_seconds: float = Field(
        default=0.05, ge=0, description="First backoff wait; doubles per attempt, with jitter."
    )
    write_concurrency: int = Field(
        default=8,
        ge=1,
        le=10,
        description="BatchWriteItem calls in flight at once (at most boto3's 10 pooled connections).",
    )
    _client: Any = PrivateAttr(default=None)

    def client(self) -> Any:
        """The DynamoDB client, built once per resource instance."""
        if self._client is None:
            self._client = aws_client("dynamodb", self.region or None)
        return self._client

    def table_name(self, table: str) -> str:
        return f"{self.table_prefix}{table}"

    def replace_table(self, table: str, frame: pd.DataFrame) -> int:
        return self._upsert(table, frame)

    def upsert_rows(self, table: str, frame: pd.DataFrame) -> int:
        self._ensure_table(table)
        items = dynamodb_items(frame, TABLE_KEYS[table])
        self._write_batches(self.table_name(table), [{"PutRequest": {"Item": item}} for item in items])
        return self.count(table)

    def table_location(self, table: str) -> str:
        return f"dynamodb:{self.table_name(table)}"

    def replace_rows(self, table: str, frame: pd.DataFrame, scope_column: str, scope: pd.Series) -> int:
        """Upsert `frame` and delete only the items of `scope` (by `scope_column`) that it no longer has."""
        return self._upsert(table, frame, scope_column, set(scope.astype(str)))

    def keep_only(self, table: str, column: str, values: pd.Series) -> int:
        keys, client = TABLE_KEYS[table], self.client()
        kept = set(values.astype(str))
        try:
            existing = self._scan(table, keys if column in keys else (*keys, column))
        except client.exceptions.ResourceNotFoundException:
            return 0  # no table yet: nothing to keep or delete
        stale = [
            {"DeleteRequest": {"Key": {key: item[key] for key in keys}}}
            for item in existing
            if str(_deserialize(item[column])) not in kept
        ]
        self._write_batches(self.table_name(table), stale)
        return len(existing) - len(stale)

    def _upsert(
        self, table: str, frame: pd.DataFrame, scope_column: str | None = None, scope: set[str] | None = None
    ) -> int:
        """Put every row of `frame`, delete the items (of `scope`, when given) whose key it lacks; the item count."""
        keys = TABLE_KEYS[table]
        self._ensure_table(table)
        items = dynamodb_items(frame, keys)
        wanted = {_key_tuple(item, keys) for item in items}
        attributes = keys if scope_column in (None, *keys) else (*keys, scope_column)
        existing = self._scan(table, attributes)
        stale = [
            {key: item[key] for key in keys}
            for item in existing
            if _key_tuple(item, keys) not in wanted
            and (scope is None or str(_deserialize(item[scope_column])) in scope)
        ]
        requests = [{"PutRequest": {"Item": item}} for item in items] + [
            {"DeleteRequest": {"Key": key}} for key in stale
        ]
        self._write_batches(self.table_name(table), requests)
        return len(wanted | {_key_tuple(item, keys) for item in existing}) - len(stale)

    def count(self, table: str) -> int:
        client = self.client()
        try:
            pages = client.get_paginator("scan").paginate(TableName=self.table_name(table), Select="COUNT")
            return sum(page["Count"] for page in pages)
        except client.exceptions.ResourceNotFoundException:
            return 0

    def read_table(self, table: str) -> pd.DataFrame:
        """Every item; key columns first, the others by name; whole-number columns as Int64, other numbers float."""
        keys = TABLE_KEYS[table]
        records = [{name: _deserialize(value) for name, value in item.items()} for item in self._scan(table)]
        frame = pd.DataFrame.from_records(records)
        if frame.empty:
            return pd.DataFrame(columns=list(keys))
        frame = frame[list(keys) + sorted(set(frame.columns) - set(keys))]
        return frame.apply(_from_dynamodb_column).sort_values(list(keys), kind="stable").reset_index(drop=True)

    def delete_tables(self) -> list[str]:
        """Delete the pipeline's tables (not the suppression list), waiting until each is gone; tables already gone
        are skipped."""
        client, deleted = self.client(), []
        for table in SERVING_TABLES:
            name = self.table_name(table)
            try:
                client.delete_table(TableName=name)
            except client.exceptions.ResourceNotFoundException:
                continue
            client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
            deleted.append(f"dynamodb table {name}")
        return deleted

    def _ensure_table(self, table: str) -> None:
        client, name = self.client(), self.table_name(table)
        try:
            client.describe_table(TableName=name)
            return
        except client.exceptions.ResourceNotFoundException:
            if not self.create_tables:
                raise LookupError(f"DynamoDB table {name} does not exist and create_tables is off") from None
        keys = TABLE_KEYS[table]
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": role} for key, role in zip(keys, KEY_ROLES)],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": KEY_ATTRIBUTE_TYPES[key]} for key in keys],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True},
        )
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60})

    def _scan(self, table: str, attributes: tuple[str, ...] = ()) -> list[dict]:
        """Every item of a table (only `attributes`, when given), through all scan pages."""
        projection = {}
        if attributes:
            names = {f"#a{i}": name for i, name in enumerate(attributes)}
            projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        pages = self.client().get_paginator("scan").paginate(TableName=self.table_name(table), **projection)
        return [item for page in pages for item in page["Items"]]

    def _write_batches(self, name: str, requests: list[dict]) -> None:
        """The requests in batches of BATCH_WRITE_LIMIT, `write_concurrency` batches at a time (a key is in one
        batch only, so their order does not matter).

        A batch that fails does not stop the others: once all have run, the first exception a batch
        raised is raised again, else an error for the batches left unprocessed.
        """
        client = self.client()  # built before the threads share it
        batches = [requests[start : start + BATCH_WRITE_LIMIT] for start in range(0, len(requests), BATCH_WRITE_LIMIT)]
        with ThreadPoolExecutor(min(self.write_concurrency, max(len(batches), 1))) as pool:
            futures = [pool.submit(self._write_batch, client, name, batch) for batch in batches]
        raised = [future.exception() for future in futures if future.exception()]
        unprocessed = [future.result() for future in futures if not future.exception() and future.result()]
        if raised:
            raise raised[0]
        if unprocessed:
            raise RuntimeError(
                unprocessed[0] + (f" (and {len(unprocessed) - 1} more batches)" if len(unprocessed) > 1 else "")
            )

    def _write_batch(self, client: Any, name: str, requests: list[dict]) -> str | None:
        """One BatchWriteItem of at most 25 requests; UnprocessedItems are resent with backoff; the failure, if any."""

        def send(pending: list[dict]) -> list[dict]:
            response = client.batch_write_item(RequestItems={name: pending})
            return response.get("UnprocessedItems", {}).get(name, [])

        left = retry_pending(send, requests, self.write_attempts, self.retry_base_seconds)
        if not left:
            return None
        return (
            f"DynamoDB table {name}: {len(left)} of {len(requests)} writes still unprocessed after "
            f"{self.write_attempts} attempts (throughput exceeded?); re-run to finish, writes are idempotent"
        )


def dynamodb_items(frame: pd.DataFrame, keys: tuple[str, ...]) -> list[dict]:
    """Rows as DynamoDB attribute-value maps: numbers as Decimal, missing values left out, one per key (last wins)."""
    empty_keys = frame[list(keys)].astype("string").fillna("").eq("").any(axis=1)
    if empty_keys.any():
        raise ValueError(
            f"{int(empty_keys.sum())} rows have an empty key ({', '.join(keys)}); DynamoDB keys cannot be empty"
        )
    frame = frame.drop_duplicates(list(keys), keep="last")
    _check_item_sizes(frame, keys)
    names = [str(column) for column in frame.columns]
    columns = [_python_values(frame[column]) for column in frame.columns]
    return [{name: _serialize(value) for name, value in zip(names, row) if value is not None} for row in zip(*columns)]


def _check_item_sizes(frame: pd.DataFrame, keys: tuple[str, ...]) -> None:
    """Refuse rows over DynamoDB's item size limit before anything is written, naming the first and its largest
    column."""
    sizes = pd.DataFrame({column: _attribute_bytes(frame[column]) for column in frame.columns}, index=frame.index)
    too_large = sizes.sum(axis=1) > ITEM_SIZE_LIMIT
    if too_large.any():
        first = too_large.idxmax()
        key = ", ".join(f"{name}={frame.at[first, name]}" for name in keys)
        raise ValueError(
            f"{int(too_large.sum())} rows are larger than DynamoDB's {ITEM_SIZE_LIMIT // 1024} KB item limit, "
            f"e.g. {key}: {int(sizes.loc[first].sum()):,} bytes, {int(sizes.loc[first].max()):,} of them in "
            f"{sizes.loc[first].idxmax()}; nothing was written"
        )


def _attribute_bytes(column: pd.Series) -> pd.Series:
    """Bytes each value takes in an item (name + UTF-8 text, or at most NUMBER_SIZE for a number); 0 where missing."""
    value = (
        NUMBER_SIZE
        if pd.api.types.is_numeric_dtype(column)
        else column.fillna("").astype(str).str.encode("utf-8").str.len()
    )
    return column.notna() * (len(str(column.name).encode()) + value)


def _python_values(column: pd.Series) -> list:
    """A column as Python values DynamoDB's serializer takes (Decimal, bool, str), None where missing."""
    missing = column.isna().to_numpy()
    if pd.api.types.is_bool_dtype(column):
        values = [bool(v) for v in column.fillna(False)]
    elif pd.api.types.is_integer_dtype(column):
        values = [Decimal(int(v)) for v in column.fillna(0)]
    elif pd.api.types.is_float_dtype(column):
        values = [Decimal(repr(float(v))) for v in column.fillna(0.0)]
    else:
        values = [str(v) for v in column.astype(object)]
    return [None if gone else value for value, gone in zip(values, missing)]


def _key_tuple(item: dict, keys: tuple[str, ...]) -> tuple:
    """An item's key as a hashable tuple of its typed attribute values."""
    return tuple(next(iter(item[key].items())) for key in keys)


def _from_dynamodb_column(column: pd.Series) -> pd.Series:
    """Decimal columns back to Int64 (whole numbers) or float; other columns unchanged."""
    present = column.dropna()
    if present.empty or not present.map(lambda v: isinstance(v, Decimal)).all():
        return column
    numbers = column.astype(float)
    whole = present.map(lambda v: v.as_tuple().exponent >= 0).all()
    return numbers.astype("Int64") if whole else numbers
