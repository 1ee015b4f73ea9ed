"""`recsys run` with S3 storage and DynamoDB profiles against a local moto server."""

import io
import socket
import subprocess
import sys
import time
from dataclasses import replace

import boto3
import pandas as pd
import pytest

from recsys_assets.cli.run import run_pipeline
from recsys_assets.environment import RunOptions
from recsys_assets.sample.generator import generate_catalog, write_catalog

BUCKET = "recsys-e2e"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server():
    """`python -m moto.server` on a free local port, stopped after the module."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto server did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def aws_run(moto_server, monkeypatch, tmp_path):
    """The pipeline with RECSYS_STORAGE=s3 and RECSYS_PROFILES=dynamodb on a small catalog uploaded to the bucket."""
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "RECSYS_STORAGE": "s3",
        "RECSYS_PROFILES": "dynamodb",
        "RECSYS_S3_BUCKET": BUCKET,
        "RECSYS_S3_PREFIX": "run",
        "RECSYS_DYNAMODB_TABLE_PREFIX": "e2e_",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RECSYS_ENV", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    write_catalog(generate_catalog(n_products=30, n_users=60, n_reviews=300, seed=5), tmp_path / "catalog.csv")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(tmp_path / "catalog.csv"), BUCKET, "run/inbox/catalog.csv")
    options = replace(RunOptions.from_environment(), home=str(tmp_path / "home"), input_location="inbox", num_results=3)
    return run_pipeline(options)


def s3_csv(key: str) -> pd.DataFrame:
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return pd.read_csv(io.BytesIO(body), dtype=str)


def test_the_run_leaves_personalize_import_files_in_the_bucket_and_profiles_in_dynamodb(aws_run):
    counts = aws_run["counts"]
    interactions, items, users = (s3_csv(f"run/personalize/{name}.csv") for name in ("interactions", "items", "users"))
    assert list(interactions.columns) == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"]
    levels = [f"CATEGORY_L{n}" for n in range(1, len(items.columns) - 3)]
    assert list(items.columns) == ["ITEM_ID", *levels, "BRAND", "PRICE", "DESCRIPTION"] and len(levels) >= 2
    assert list(users.columns) == ["USER_ID"]
    assert (len(interactions), len(items), len(users)) == (counts["interactions"], counts["products"], counts["users"])
    dynamodb = boto3.client("dynamodb")
    table_counts = {
        t: dynamodb.scan(TableName=f"e2e_{t}", Select="COUNT")["Count"]
        for t in ("products", "users", "recommendations")
    }
    assert table_counts == {t: counts[t] for t in ("products", "users", "recommendations")}
    assert aws_run["aws_usage"]["aws_roles"] == ["storage", "profiles"]
    assert aws_run["aws_usage"]["usage"]["s3_bytes"] > 0
