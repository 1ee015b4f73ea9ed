"""The delivery ledger: a row per (campaign, customer), claimed atomically before an email goes (docs/sending.md)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from recsys_assets.resources.aws_clients import aws_client
from recsys_assets.resources.dynamodb import dynamodb_items
from recsys_assets.resources.profile_store import CORRUPT_MESSAGES, write_transaction

HOLDOUT, SENDING, SENT, FAILED = "holdout", "sending", "sent", "failed"
CLAIM_STATUSES = (HOLDOUT, SENDING)
FINISH_STATUSES = (SENT, FAILED)
CLAIM_COLUMNS = ("user_id", "email", "message_id", "status")
LEDGER_COLUMNS = (
    "campaign",
    "user_id",
    "email",
    "message_id",
    "status",
    "attempts",  # int64: delivery attempts recorded by finish (0 while claimed)
    "provider_id",
    "error",
    "owner",  # who claimed the row (a sender's run id)
    "lease_until",  # float64 epoch seconds: a "sending" row past it, not finished, is uncertain; NaN for holdout
    "created_at",  # float64 epoch seconds of the claim
    "sent_at",  # float64 epoch seconds of a "sent" finish, else NaN
)
MAILED_COLUMNS = ("user_id", "email", "campaign", "sent_at")
_TIME_COLUMNS = ("lease_until", "created_at", "sent_at")


class DeliveryLedger(ConfigurableResource, ABC):
    """Who was sent (or held out of) which campaign; a customer has at most one row per campaign."""

    @abstractmethod
    def claim(self, campaign: str, rows: pd.DataFrame, owner: str, lease_seconds: float) -> pd.DataFrame:
        """Insert each of `rows` (CLAIM_COLUMNS; status holdout or sending) whose (campaign, user_id) has no row yet,
        atomically per customer; returns the ledger rows this call inserted (of two callers, each customer goes to
        one)."""

    @abstractmethod
    def finish(
        self, campaign: str, user_id: str, status: str, provider_id: str = "", error: str = "", attempts: int = 1
    ) -> None:
        """Record a claimed row's outcome (sent or failed); a row that was never claimed is a LookupError."""

    @abstractmethod
    def rows(self, campaign: str | None = None) -> pd.DataFrame:
        """The ledger (LEDGER_COLUMNS), of one campaign or of all."""

    @abstractmethod
    def mailed_since(self, epoch: float) -> pd.DataFrame:
        """MAILED_COLUMNS of every row of any campaign sent at or after `epoch`, and of every "sending" row claimed
        since then (it may have left), with its claim time as sent_at: the frequency cap's input."""

    @abstractmethod
    def uncertain(self, campaign: str, now: float | None = None) -> pd.DataFrame:
        """The campaign's rows left "sending" past their lease: their sender died, the email may have left."""

    @abstractmethod
    def reclaim_uncertain(
        self, campaign: str, owner: str, lease_seconds: float, now: float | None = None
    ) -> pd.DataFrame:
        """Give the uncertain rows to `owner` with a new lease, each to one caller only; returns the rows taken."""

    @abstractmethod
    def renew(self, campaign: str, user_id: str, owner: str, lease_seconds: float) -> bool:
        """Extend to now + `lease_seconds` the lease of a row `owner` still holds (status sending): False when another
        sender took it over (`reclaim_uncertain`), so this one must not send it. Atomic against a re-claim."""

    @abstractmethod
    def release(self, campaign: str, user_ids: pd.Series, owner: str) -> int:
        """Delete the rows of `user_ids` that `owner` claimed and has not finished (still sending): claims a stopped
        sender never tried, given back so the next send sends them. Returns how many were deleted."""


class DeliveryLedgerError(RuntimeError):
    """The ledger cannot be written; the message names it and says what to do."""


def claim_frame(campaign: str, rows: pd.DataFrame, owner: str, lease_seconds: float, now: float) -> pd.DataFrame:
    """The ledger rows a claim of `rows` would insert; a missing column, another status, no user id or a customer
    twice is a ValueError."""
    missing = [column for column in CLAIM_COLUMNS if column not in rows.columns]
    if missing:
        raise ValueError(f"claim rows lack the columns {', '.join(missing)} (need {', '.join(CLAIM_COLUMNS)})")
    statuses = rows["status"].astype("string")
    wrong = ~statuses.isin(CLAIM_STATUSES)
    if wrong.any():
        raise ValueError(
            f"{int(wrong.sum())} claim rows have a status other than holdout or sending, e.g. "
            f"{statuses[wrong].iloc[0]!r}"
        )
    no_id = rows["user_id"].astype("string").fillna("").eq("")
    if no_id.any():
        raise ValueError(f"{int(no_id.sum())} claim rows have no user_id")
    twice = rows["user_id"].duplicated()
    if twice.any():
        raise ValueError(
            f"{int(twice.sum())} customers are in the claim twice, e.g. {rows['user_id'][twice].iloc[0]!r}"
        )
    sending = (statuses == SENDING).to_numpy()
    frame = pd.DataFrame(
        {
            "campaign": campaign,
            "user_id": rows["user_id"].astype("string").to_numpy(),
            "email": rows["email"].astype("string").fillna("").to_numpy(),
            "message_id": rows["message_id"].astype("string").fillna("").to_numpy(),
            "status": statuses.to_numpy(),
            "attempts": 0,
            "provider_id": "",
            "error": "",
            "owner": owner,
            "lease_until": pd.Series(now + lease_seconds, index=range(len(rows))).where(sending),
            "created_at": now,
            "sent_at": float("nan"),
        }
    )
    return ledger_frame(frame)


def ledger_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with exactly LEDGER_COLUMNS in their types (text "" where missing, attempts int64, times float64)."""
    frame = frame.reindex(columns=list(LEDGER_COLUMNS)).reset_index(drop=True)
    for column in LEDGER_COLUMNS:
        if column in _TIME_COLUMNS:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        elif column == "attempts":
            frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0).astype("int64")
        else:
            frame[column] = frame[column].astype("string").fillna("")
    return frame


def _check_finish_status(status: str) -> None:
    if status not in FINISH_STATUSES:
        raise ValueError(f"a delivery finishes as sent or failed, not {status!r}")


class SqliteDeliveryLedger(DeliveryLedger):
    """The `deliveries` table of the profile store's SQLite file, in WAL mode (readers never block the writer).

    A claim is one INSERT ... ON CONFLICT DO NOTHING RETURNING inside BEGIN IMMEDIATE: writers take the file's
    write lock in turn, so of two processes claiming at once each customer goes to the first."""

    path: str = Field(
        default=".recsys/deliveries.sqlite", description="SQLite database file of the ledger (a record: back it up)."
    )
    busy_timeout_seconds: float = Field(
        default=60.0, gt=0, description="How long a write waits for another process's write to the same file."
    )

    _connections: dict = PrivateAttr(default_factory=dict)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This process and thread's connection (WAL mode, the table created on first use); a SQLite error is a
        DeliveryLedgerError naming the file."""
        try:
            yield self._connection()
        except sqlite3.Error as error:
            if str(error) in CORRUPT_MESSAGES:
                raise DeliveryLedgerError(
                    f"{self.path}: {error}; its deliveries table records who was mailed: restore the file from a "
                    "backup before sending (a new file would mail every customer of a campaign again)"
                ) from error
            raise DeliveryLedgerError(
                f"{self.path}: {error}; the delivery ledger was not changed by the failed statement"
            ) from error

    def _connection(self) -> sqlite3.Connection:
        """One connection per process and thread, kept: opening one per finish would cost ~10x its UPDATE."""
        key = (os.getpid(), threading.get_ident())
        if key not in self._connections:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_seconds)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # claims are made durable in _claim_transaction
            connection.executescript(_SQLITE_SCHEMA)
            self._connections[key] = connection
        return self._connections[key]

    def claim(self, campaign: str, rows: pd.DataFrame, owner: str, lease_seconds: float) -> pd.DataFrame:
        wanted = claim_frame(campaign, rows, owner, lease_seconds, time.time())
        values = zip(*(wanted[column].tolist() for column in LEDGER_COLUMNS))  # SQLite stores NaN as NULL
        with self._connect() as connection, _claim_transaction(connection):
            connection.execute("CREATE TEMP TABLE IF NOT EXISTS claimed AS SELECT * FROM deliveries WHERE false")
            connection.execute("DELETE FROM claimed")
            connection.executemany("INSERT INTO claimed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            inserted = connection.execute(
                # WHERE true: SQLite's parser needs it to tell the upsert's ON from a join's
                "INSERT INTO deliveries SELECT * FROM claimed WHERE true "
                "ON CONFLICT (campaign, user_id) DO NOTHING RETURNING user_id"
            ).fetchall()
        taken = wanted["user_id"].astype(object).isin({user_id for (user_id,) in inserted})
        return wanted[taken].reset_index(drop=True)

    def finish(
        self, campaign: str, user_id: str, status: str, provider_id: str = "", error: str = "", attempts: int = 1
    ) -> None:
        _check_finish_status(status)
        sent_at = time.time() if status == SENT else None
        with self._connect() as connection:
            updated = connection.execute(
                "UPDATE deliveries SET status = ?, provider_id = ?, error = ?, attempts = ?, sent_at = ?, "
                "lease_until = NULL WHERE campaign = ? AND user_id = ?",
                (status, provider_id, error, attempts, sent_at, campaign, user_id),
            ).rowcount
        if not updated:
            raise LookupError(f"{self.path}: campaign {campaign!r} has no delivery to {user_id!r} to finish")

    def rows(self, campaign: str | None = None) -> pd.DataFrame:
        where, parameters = ("WHERE campaign = ?", (campaign,)) if campaign is not None else ("", ())
        return self._select(f"SELECT * FROM deliveries {where}", parameters)  # nosec B608 (a fixed clause)

    def mailed_since(self, epoch: float) -> pd.DataFrame:
        with self._connect() as connection:
            frame = pd.read_sql_query(
                "SELECT user_id, email, campaign, sent_at FROM deliveries WHERE status = ? AND sent_at >= ? "
                "UNION ALL SELECT user_id, email, campaign, created_at FROM deliveries "
                "WHERE status = ? AND created_at >= ?",
                connection,
                params=(SENT, epoch, SENDING, epoch),
            )
        return _mailed_frame(frame)

    def uncertain(self, campaign: str, now: float | None = None) -> pd.DataFrame:
        now = time.time() if now is None else now
        return self._select(
            "SELECT * FROM deliveries WHERE campaign = ? AND status = ? AND lease_until < ?", (campaign, SENDING, now)
        )

    def reclaim_uncertain(
        self, campaign: str, owner: str, lease_seconds: float, now: float | None = None
    ) -> pd.DataFrame:
        now = time.time() if now is None else now
        with self._connect() as connection, _claim_transaction(connection):
            cursor = connection.execute(
                "UPDATE deliveries SET owner = ?, lease_until = ? "
                "WHERE campaign = ? AND status = ? AND lease_until < ? RETURNING *",
                (owner, now + lease_seconds, campaign, SENDING, now),
            )
            names = [column[0] for column in cursor.description]
            return ledger_frame(pd.DataFrame(cursor.fetchall(), columns=names))

    def renew(self, campaign: str, user_id: str, owner: str, lease_seconds: float) -> bool:
        with self._connect() as connection, _claim_transaction(connection):
            return (
                connection.execute(
                    "UPDATE deliveries SET lease_until = ? WHERE campaign = ? AND user_id = ? AND owner = ? "
                    "AND status = ?",
                    (time.time() + lease_seconds, campaign, user_id, owner, SENDING),
                ).rowcount
                == 1
            )

    def release(self, campaign: str, user_ids: pd.Series, owner: str) -> int:
        ids = [(campaign, user_id, owner, SENDING) for user_id in pd.unique(user_ids.astype(object))]
        with self._connect() as connection, _claim_transaction(connection):
            return connection.executemany(
                "DELETE FROM deliveries WHERE campaign = ? AND user_id = ? AND owner = ? AND status = ?", ids
            ).rowcount

    def _select(self, query: str, parameters: tuple) -> pd.DataFrame:
        with self._connect() as connection:
            return ledger_frame(pd.read_sql_query(query, connection, params=parameters))


_SQLITE_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS deliveries (
    campaign TEXT NOT NULL,
    user_id TEXT NOT NULL,
    email TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('{HOLDOUT}', '{SENDING}', '{SENT}', '{FAILED}')),
    attempts INTEGER NOT NULL,
    provider_id TEXT NOT NULL,
    error TEXT NOT NULL,
    owner TEXT NOT NULL,
    lease_until REAL,
    created_at REAL NOT NULL,
    sent_at REAL,
    PRIMARY KEY (campaign, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_by_status ON deliveries (status, sent_at);
"""


@contextmanager
def _claim_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """The profile store's write transaction with its COMMIT synced to disk. Other writes (finish) are synced with
    the next claim: a finish lost to a power cut leaves its row sending (uncertain: sent again only with
    --resend-uncertain), a lost claim would let the next run send again."""
    connection.execute("PRAGMA synchronous=FULL")
    try:
        with write_transaction(connection):
            yield
    finally:
        connection.execute("PRAGMA synchronous=NORMAL")


def _mailed_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """MAILED_COLUMNS in their types (text, sent_at float64)."""
    frame = frame.reindex(columns=list(MAILED_COLUMNS)).reset_index(drop=True)
    frame["sent_at"] = pd.to_numeric(frame["sent_at"], errors="coerce").astype("float64")
    for column in ("user_id", "email", "campaign"):
        frame[column] = frame[column].astype("string").fillna("")
    return frame


_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize
LEDGER_KEYS = ("campaign", "user_id")


# The condition of a write to a row only its sender may change: still its own, still being sent.
OWNED_AND_SENDING = "#owner = :owner AND #status = :sending"


class DynamoDBDeliveryLedger(DeliveryLedger):
    """The table `<table_prefix>deliveries` (partition key campaign, sort key user_id; on-demand capacity).

    A claim is one conditional PutItem per customer (`attribute_not_exists(user_id)`), `write_concurrency` at a
    time: BatchWriteItem takes no conditions, and TransactWriteItems (up to 100 items) costs twice the writes and
    fails whole on one customer already claimed (docs/sending.md)."""

    table_prefix: str = Field(default="recsys_", description="Prefix of the table name (the profile store's).")
    region: str = Field(default="", description="AWS region; empty for AWS_REGION / AWS_DEFAULT_REGION.")
    create_tables: bool = Field(default=True, description="Create the table if missing (PAY_PER_REQUEST) and wait.")
    write_concurrency: int = Field(
        default=8, ge=1, le=10, description="Conditional writes in flight at once (at most boto3's 10 connections)."
    )
    _client: Any = PrivateAttr(default=None)
    _table_ready: bool = PrivateAttr(default=False)

    def client(self) -> Any:
        """The DynamoDB client, built once per resource instance."""
        if self._client is None:
            self._client = aws_client("dynamodb", self.region or None)
        return self._client

    @property
    def table_name(self) -> str:
        return f"{self.table_prefix}deliveries"

    def claim(self, campaign: str, rows: pd.DataFrame, owner: str, lease_seconds: float) -> pd.DataFrame:
        wanted = claim_frame(campaign, rows, owner, lease_seconds, time.time())
        self._ensure_table()
        client = self.client()
        rejected = client.exceptions.ConditionalCheckFailedException

        def put(item: dict) -> bool:
            try:
                client.put_item(
                    TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(user_id)"
                )
            except rejected:
                return False
            return True

        taken = self._in_parallel(put, dynamodb_items(wanted, LEDGER_KEYS), "claims", lease_seconds)
        return wanted[taken].reset_index(drop=True)

    def finish(
        self, campaign: str, user_id: str, status: str, provider_id: str = "", error: str = "", attempts: int = 1
    ) -> None:
        _check_finish_status(status)
        client = self.client()
        values = {":status": status, ":provider": provider_id, ":error": error, ":attempts": attempts}
        sent = ", sent_at = :sent_at" if status == SENT else ""
        if sent:
            values[":sent_at"] = Decimal(repr(time.time()))
        try:
            client.update_item(
                TableName=self.table_name,
                Key={"campaign": {"S": campaign}, "user_id": {"S": user_id}},
                UpdateExpression=f"SET #status = :status, provider_id = :provider, #error = :error, "
                f"attempts = :attempts{sent} REMOVE lease_until",
                ConditionExpression="attribute_exists(user_id)",
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues={name: _serialize(value) for name, value in values.items()},
            )
        except (client.exceptions.ConditionalCheckFailedException, client.exceptions.ResourceNotFoundException):
            raise LookupError(
                f"DynamoDB table {self.table_name}: campaign {campaign!r} has no delivery to {user_id!r} to finish"
            ) from None

    def rows(self, campaign: str | None = None) -> pd.DataFrame:
        if campaign is None:
            return ledger_frame(self._records("scan"))
        return ledger_frame(self._records("query", **_campaign_key(campaign)))

    def mailed_since(self, epoch: float) -> pd.DataFrame:
        """A Scan filtered on the server: the ledger has no index by time (one per send; docs/sending.md)."""
        records = self._records(
            "scan",
            FilterExpression="(#status = :sent AND sent_at >= :since) OR (#status = :sending AND created_at >= :since)",
            ProjectionExpression="user_id, email, campaign, sent_at, created_at, #status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":sent": {"S": SENT},
                ":sending": {"S": SENDING},
                ":since": _serialize(Decimal(repr(float(epoch)))),
            },
        )
        if records.empty:
            return _mailed_frame(records)
        sending = records["status"].eq(SENDING)
        records["sent_at"] = records["created_at"].where(sending, records.reindex(columns=["sent_at"])["sent_at"])
        return _mailed_frame(records)

    def uncertain(self, campaign: str, now: float | None = None) -> pd.DataFrame:
        return ledger_frame(self._uncertain_records(campaign, time.time() if now is None else now))

    def reclaim_uncertain(
        self, campaign: str, owner: str, lease_seconds: float, now: float | None = None
    ) -> pd.DataFrame:
        now = time.time() if now is None else now
        candidates = ledger_frame(self._uncertain_records(campaign, now))
        values = {
            ":owner": _serialize(owner),
            ":lease": _serialize(Decimal(repr(now + lease_seconds))),
            ":sending": _serialize(SENDING),
            ":now": _serialize(Decimal(repr(now))),
        }

        def take(user_id: str) -> bool:
            return self._if_row(
                "update_item",
                campaign,
                user_id,
                UpdateExpression="SET #owner = :owner, lease_until = :lease",
                ConditionExpression="#status = :sending AND lease_until < :now",
                ExpressionAttributeValues=values,
            )

        taken = self._in_parallel(take, list(candidates["user_id"]), "re-claims", lease_seconds)
        return candidates[taken].assign(owner=owner, lease_until=now + lease_seconds).reset_index(drop=True)

    def renew(self, campaign: str, user_id: str, owner: str, lease_seconds: float) -> bool:
        return self._if_row(
            "update_item",
            campaign,
            user_id,
            UpdateExpression="SET lease_until = :lease",
            ConditionExpression=OWNED_AND_SENDING,
            ExpressionAttributeValues={
                ":owner": _serialize(owner),
                ":sending": _serialize(SENDING),
                ":lease": _serialize(Decimal(repr(time.time() + lease_seconds))),
            },
        )

    def release(self, campaign: str, user_ids: pd.Series, owner: str) -> int:
        values = {":owner": _serialize(owner), ":sending": _serialize(SENDING)}

        def delete(user_id: str) -> bool:
            return self._if_row(
                "delete_item",
                campaign,
                user_id,
                ConditionExpression=OWNED_AND_SENDING,
                ExpressionAttributeValues=values,
            )

        return int(self._in_parallel(delete, list(pd.unique(user_ids.astype(object))), "releases", 0).sum())

    def _if_row(self, operation: str, campaign: str, user_id: str, **request: Any) -> bool:
        """One conditional write (`operation`: update_item or delete_item) to a customer's row, with #owner and #status
        named: False when its condition does not hold."""
        client = self.client()
        try:
            getattr(client, operation)(
                TableName=self.table_name,
                Key={"campaign": {"S": campaign}, "user_id": {"S": user_id}},
                ExpressionAttributeNames={"#owner": "owner", "#status": "status"},
                **request,
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _uncertain_records(self, campaign: str, now: float) -> pd.DataFrame:
        return self._records(
            "query",
            **_campaign_key(campaign, {":sending": {"S": SENDING}, ":now": _serialize(Decimal(repr(float(now))))}),
            FilterExpression="#status = :sending AND lease_until < :now",
            ExpressionAttributeNames={"#status": "status"},
        )

    def _records(self, operation: str, **request: Any) -> pd.DataFrame:
        """Every item a paginated scan or query returns, as Python values; empty when the table does not exist."""
        client = self.client()
        try:
            pages = client.get_paginator(operation).paginate(TableName=self.table_name, **request)
            items = [item for page in pages for item in page["Items"]]
        except client.exceptions.ResourceNotFoundException:
            items = []
        return pd.DataFrame.from_records(
            [{name: _python(_deserialize(value)) for name, value in item.items()} for item in items]
        )

    def _in_parallel(self, write: Callable[[Any], bool], requests: list, what: str, lease_seconds: float) -> pd.Series:
        """`write` of each request, `write_concurrency` at a time: whether each one won its condition. An error
        (throttling past boto3's retries) is raised after all have run, saying the won rows stay sending."""
        if not requests:
            return pd.Series(dtype=bool)
        with ThreadPoolExecutor(min(self.write_concurrency, len(requests))) as pool:
            futures = [pool.submit(write, request) for request in requests]
        errors = [future.exception() for future in futures if future.exception()]
        won = pd.Series([not future.exception() and future.result() for future in futures])
        if errors:
            raise DeliveryLedgerError(
                f"DynamoDB table {self.table_name}: {len(errors)} of {len(requests)} {what} failed ({errors[0]}); "
                f"the {int(won.sum())} that succeeded stay 'sending' and are reported uncertain after their "
                f"{lease_seconds:g} s lease: run the send again, then resend the uncertain ones"
            ) from errors[0]
        return won

    def _ensure_table(self) -> None:
        """Create the table (PAY_PER_REQUEST, encrypted) if it does not exist, once per resource instance."""
        if self._table_ready:
            return
        client = self.client()
        try:
            client.describe_table(TableName=self.table_name)
        except client.exceptions.ResourceNotFoundException:
            if not self.create_tables:
                raise LookupError(f"DynamoDB table {self.table_name} does not exist and create_tables is off") from None
            client.create_table(
                TableName=self.table_name,
                KeySchema=[
                    {"AttributeName": "campaign", "KeyType": "HASH"},
                    {"AttributeName": "user_id", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in LEDGER_KEYS],
                BillingMode="PAY_PER_REQUEST",
                SSESpecification={"Enabled": True},
            )
            client.get_waiter("table_exists").wait(
                TableName=self.table_name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
            )
        self._table_ready = True


def _campaign_key(campaign: str, values: dict | None = None) -> dict:
    """A query's key condition on one campaign, with the filter's `values` beside it."""
    return {
        "KeyConditionExpression": "campaign = :campaign",
        "ExpressionAttributeValues": {":campaign": {"S": campaign}, **(values or {})},
    }


def _python(value: Any) -> Any:
    """A deserialized DynamoDB value as a plain Python one (Decimal as float)."""
    return float(value) if isinstance(value, Decimal) else value
