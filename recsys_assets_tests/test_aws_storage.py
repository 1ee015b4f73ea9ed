"""S3 object store and DynamoDB profile store against moto, and DynamoDB's batch retries with Stubber."""

import threading
import time
from decimal import Decimal

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from dagster_aws.s3 import S3Resource

from recsys_assets.resources.aws_clients import aws_client, backoff_delays
from recsys_assets.resources.dynamodb import DynamoDBProfileStore
from recsys_assets.resources.s3 import S3ObjectStore

BUCKET = "recsys-test"


@pytest.fixture
def store(aws):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return S3ObjectStore(s3=S3Resource(), bucket=BUCKET, prefix="run")


def test_clients_use_the_configured_retry_mode_region_and_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")
    client = aws_client("dynamodb", retry_mode="standard", max_attempts=3)
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:5999"
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}


def test_backoff_waits_grow_exponentially_within_their_jitter_bounds():
    delays = list(backoff_delays(5, base_seconds=1.0, cap_seconds=5.0))
    assert len(delays) == 4
    assert all(0 <= d <= bound for d, bound in zip(delays, [1, 2, 4, 5]))


def test_objects_round_trip_under_the_prefix_with_s3_urls(store):
    store.write_bytes("emails/u1.eml", b"hello")
    assert store.read_bytes("emails/u1.eml") == b"hello"
    assert store.exists("emails/u1.eml") and not store.exists("emails/u2.eml")
    assert store.location("emails/u1.eml") == f"s3://{BUCKET}/run/emails/u1.eml"
    assert boto3.client("s3").get_object(Bucket=BUCKET, Key="run/emails/u1.eml")["Body"].read() == b"hello"


def test_list_keys_names_a_folder_or_one_object_never_a_sibling_prefix(store):
    for key in ("input/a.csv", "input/sub/b.csv", "inputs/c.csv", "input.csv"):
        store.write_bytes(key, b"x")
    assert store.list_keys("input") == ["input/a.csv", "input/sub/b.csv"]
    assert store.list_keys("input/") == ["input/a.csv", "input/sub/b.csv"]
    assert store.list_keys("input.csv") == ["input.csv"]
    assert store.list_keys("missing/") == []
    listed = store.list_objects("input.csv")
    assert [o.key for o in listed] == ["input.csv"] and listed[0].version
    store.write_bytes("input.csv", b"rewritten")
    assert store.list_objects("input.csv")[0].version != listed[0].version


def test_a_full_s3_url_reads_keys_outside_the_prefix(store):
    boto3.client("s3").put_object(Bucket=BUCKET, Key="raw/export.csv", Body=b"a,b\n")
    keys = store.list_keys(f"s3://{BUCKET}/raw/")
    assert keys == [f"s3://{BUCKET}/raw/export.csv"]
    assert store.read_bytes(keys[0]) == b"a,b\n"
    with pytest.raises(ValueError, match="outside the store's bucket"):
        store.read_bytes("s3://other-bucket/raw/export.csv")


def test_listing_follows_pages_and_deletes_go_in_batches_of_a_thousand(store):
    keys = [f"emails/{i:04d}.eml" for i in range(1_001)]
    entry = {"ETag": '"e"', "LastModified": "2024-01-01T00:00:00Z", "Size": 1}
    stubber = Stubber(store.client())
    listing = {"Bucket": BUCKET, "Prefix": "run/emails/", "Delimiter": ""}  # as dagster-aws get_objects lists
    first_page = {
        "Contents": [{"Key": f"run/{k}", **entry} for k in keys[:1_000]],
        "IsTruncated": True,
        "NextContinuationToken": "t",
    }
    stubber.add_response("list_objects_v2", first_page, listing)
    stubber.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": f"run/{keys[-1]}", **entry}], "IsTruncated": False},
        {**listing, "ContinuationToken": "t"},
    )
    for batch in (keys[:1_000], keys[1_000:]):
        objects = {"Objects": [{"Key": f"run/{k}"} for k in batch], "Quiet": True}
        stubber.add_response("delete_objects", {}, {"Bucket": BUCKET, "Delete": objects})
    with stubber:
        assert store.list_keys("emails/") == keys
        store.delete(keys)
    stubber.assert_no_pending_responses()


def test_objects_s3_refuses_to_delete_are_an_error(store):
    stubber = Stubber(store.client())
    errors = {"Errors": [{"Key": "run/a", "Code": "AccessDenied", "Message": "denied"}]}
    stubber.add_response(
        "delete_objects", errors, {"Bucket": BUCKET, "Delete": {"Objects": [{"Key": "run/a"}], "Quiet": True}}
    )
    with stubber, pytest.raises(RuntimeError, match="1 objects not deleted, e.g. run/a: AccessDenied"):
        store.delete(["a"])


def frame_of(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


@pytest.fixture
def profiles(aws):
    return DynamoDBProfileStore(table_prefix="t_", retry_base_seconds=0)


def test_missing_tables_are_created_on_demand_with_the_sqlite_keys(profiles):
    profiles.replace_table("recommendations", frame_of([{"user_id": "u1", "rank": 1, "ITEM_ID": "p1", "SCORE": 0.5}]))
    table = boto3.client("dynamodb").describe_table(TableName="t_recommendations")["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "user_id", "KeyType": "HASH"},
        {"AttributeName": "rank", "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_without_table_creation_a_missing_table_is_a_clear_error(aws):
    store = DynamoDBProfileStore(table_prefix="t_", create_tables=False)
    with pytest.raises(LookupError, match="t_users does not exist"):
        store.replace_table("users", frame_of([{"user_id": "u1"}]))


def test_a_rerun_leaves_exactly_the_new_rows_with_decimals_and_empty_strings(profiles):
    first = frame_of(
        [
            {"product_id": "p1", "product_name": "Cable", "rating": 4.1, "rating_count": 10},
            {"product_id": "p2", "product_name": "Case", "rating": 3.0, "rating_count": 2},
            {"product_id": "p3", "product_name": "Lamp", "rating": 5.0, "rating_count": 1},
        ]
    )
    profiles.replace_table("products", first)
    second = frame_of(
        [
            {"product_id": "p1", "product_name": "", "rating": float("nan"), "rating_count": 11},
            {"product_id": "p2", "product_name": "Case", "rating": 3.5, "rating_count": 2},
        ]
    )
    assert profiles.replace_table("products", second) == 2
    profiles.replace_table("products", second)
    items = sorted(boto3.resource("dynamodb").Table("t_products").scan()["Items"], key=lambda item: item["product_id"])
    assert items == [
        {"product_id": "p1", "product_name": "", "rating_count": Decimal(11)},
        {"product_id": "p2", "product_name": "Case", "rating": Decimal("3.5"), "rating_count": Decimal(2)},
    ]
    assert profiles.count("products") == 2
    read = profiles.read_table("products")
    assert read["product_id"].tolist() == ["p1", "p2"] and read["rating_count"].tolist() == [11, 2]
    assert read["rating"].isna().tolist() == [True, False]


def test_keep_only_on_a_table_not_made_yet_does_nothing(aws):
    store = DynamoDBProfileStore(table_prefix="t_", create_tables=False)
    assert store.keep_only("recommendations", "user_id", pd.Series(["u1"])) == 0
    assert "t_recommendations" not in boto3.client("dynamodb").list_tables()["TableNames"]


def test_replace_rows_deletes_only_stale_items_of_its_scope(profiles):
    recs = frame_of([{"user_id": u, "rank": r, "ITEM_ID": f"p{r}"} for u in ("u1", "u2") for r in (1, 2)])
    profiles.replace_table("recommendations", recs)
    profiles.replace_rows(
        "recommendations", frame_of([{"user_id": "u1", "rank": 1, "ITEM_ID": "p9"}]), "user_id", pd.Series(["u1"])
    )
    read = profiles.read_table("recommendations")
    assert list(read.itertuples(index=False, name=None)) == [("u1", 1, "p9"), ("u2", 1, "p1"), ("u2", 2, "p2")]
    assert profiles.keep_only("recommendations", "user_id", pd.Series(["u1", "u3"])) == 1  # u2 is gone from the data
    read = profiles.read_table("recommendations")
    assert list(read.itertuples(index=False, name=None)) == [("u1", 1, "p9")]


def test_rows_with_an_empty_key_are_refused(profiles):
    with pytest.raises(ValueError, match="1 rows have an empty key"):
        profiles.replace_table("users", frame_of([{"user_id": ""}, {"user_id": "u2"}]))


def test_a_row_over_the_item_size_limit_is_refused_before_anything_is_written(profiles):
    rows = [{"product_id": f"p{n}", "about": "short"} for n in range(2, 40)] + [
        {"product_id": "p40", "about": "é" * 205_000}
    ]
    profiles.replace_table(
        "products", frame_of(rows[:2]).assign(note=pd.Series([None, None], dtype="str"))
    )  # all missing: fine
    with pytest.raises(
        ValueError, match=r"1 rows are larger than .* 400 KB .* product_id=p40: 410,018 bytes, 410,005 of them in about"
    ):
        profiles.replace_table("products", frame_of(rows))
    assert profiles.read_table("products")["product_id"].tolist() == ["p2", "p3"]


def stubbed_users_table(store: DynamoDBProfileStore) -> Stubber:
    """A Stubber on the store's client, past the table check and the scan of existing keys."""
    stubber = Stubber(store.client())
    stubber.add_response("describe_table", {"Table": {"TableName": "t_users"}}, {"TableName": "t_users"})
    stubber.add_response(
        "scan",
        {"Items": []},
        {"TableName": "t_users", "ProjectionExpression": "#a0", "ExpressionAttributeNames": {"#a0": "user_id"}},
    )
    return stubber


def test_unprocessed_items_are_resent_until_written(aws):
    store = DynamoDBProfileStore(table_prefix="t_", retry_base_seconds=0)
    stubber = stubbed_users_table(store)
    put = {"PutRequest": {"Item": {"user_id": {"S": "u2"}}}}
    stubber.add_response(
        "batch_write_item", {"UnprocessedItems": {"t_users": [put]}}, {"RequestItems": {"t_users": ANY}}
    )
    stubber.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {"t_users": [put]}})
    with stubber:
        assert store.replace_table("users", frame_of([{"user_id": "u1"}, {"user_id": "u2"}])) == 2
    stubber.assert_no_pending_responses()


def test_items_still_unprocessed_after_the_last_attempt_are_an_error(aws):
    store = DynamoDBProfileStore(table_prefix="t_", retry_base_seconds=0, write_attempts=2)
    stubber = stubbed_users_table(store)
    put = {"PutRequest": {"Item": {"user_id": {"S": "u1"}}}}
    for _ in range(2):
        stubber.add_response(
            "batch_write_item", {"UnprocessedItems": {"t_users": [put]}}, {"RequestItems": {"t_users": [put]}}
        )
    with stubber, pytest.raises(RuntimeError, match="1 of 1 writes still unprocessed after 2 attempts"):
        store.replace_table("users", frame_of([{"user_id": "u1"}]))


class WrappedClient:
    """A real (moto) DynamoDB client whose BatchWriteItem calls are counted while in flight (each held
    50 ms), and which leaves every write of a batch holding `refused` unprocessed, or raises for `broken`."""

    def __init__(self, client, refused: str = "", broken: str = ""):
        self.client, self.refused, self.broken = client, refused, broken
        self.lock, self.calls, self.in_flight, self.most_in_flight = threading.Lock(), 0, 0, 0

    def batch_write_item(self, RequestItems):
        with self.lock:
            self.calls, self.in_flight = self.calls + 1, self.in_flight + 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(0.05)
            if self.broken and self.broken in str(RequestItems):
                raise self.client.exceptions.ResourceNotFoundException(
                    {"Error": {"Code": "ResourceNotFoundException"}}, "BatchWriteItem"
                )
            if self.refused and self.refused in str(RequestItems):
                return {"UnprocessedItems": RequestItems}
            return self.client.batch_write_item(RequestItems=RequestItems)
        finally:
            with self.lock:
                self.in_flight -= 1

    def __getattr__(self, name):
        return getattr(self.client, name)


def users_written() -> set[str]:
    return {item["user_id"]["S"] for item in boto3.client("dynamodb").scan(TableName="t_users")["Items"]}


def test_batches_are_written_concurrently_and_a_rerun_still_leaves_exactly_its_rows(aws):
    store = DynamoDBProfileStore(table_prefix="t_", retry_base_seconds=0, write_concurrency=4)
    wrapped = store._client = WrappedClient(store.client())
    assert (
        store.replace_table("users", frame_of([{"user_id": f"u{n:03d}", "name": f"n{n}"} for n in range(260)])) == 260
    )
    assert wrapped.calls == 11 and wrapped.most_in_flight == 4
    assert (
        store.replace_table("users", frame_of([{"user_id": f"u{n:03d}", "name": "again"} for n in range(0, 260, 2)]))
        == 130
    )
    read = store.read_table("users")
    assert read["user_id"].tolist() == [f"u{n:03d}" for n in range(0, 260, 2)] and set(read["name"]) == {"again"}


def test_a_batch_left_unprocessed_does_not_stop_the_others_and_is_reported_after_them(aws):
    store = DynamoDBProfileStore(table_prefix="t_", retry_base_seconds=0, write_attempts=3, write_concurrency=4)
    wrapped = store._client = WrappedClient(store.client(), refused="'u017'")
    with pytest.raises(RuntimeError, match="25 of 25 writes still unprocessed after 3 attempts"):
        store.replace_table("users", frame_of([{"user_id": f"u{n:03d}"} for n in range(100)]))
    assert users_written() == {f"u{n:03d}" for n in range(25, 100)}  # every batch but the refused one (u000-u024)
    assert wrapped.calls == 3 + 3  # three good batches once, the refused one three times


def test_a_batch_that_raises_does_not_stop_the_others_and_its_error_is_raised_after_them(aws):
    store = DynamoDBProfileStore(table_prefix="t_", retry_base_seconds=0, write_concurrency=2)
    store._client = WrappedClient(store.client(), broken="'u042'")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        store.replace_table("users", frame_of([{"user_id": f"u{n:03d}"} for n in range(100)]))
    assert users_written() == {f"u{n:03d}" for n in range(100)} - {f"u{n:03d}" for n in range(25, 50)}


def test_more_writes_in_flight_than_pooled_connections_are_refused():
    with pytest.raises(ValueError, match="write_concurrency"):
        DynamoDBProfileStore(write_concurrency=11)
