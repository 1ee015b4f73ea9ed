"""Faults: a Bedrock re-run asks the model only for what failed or changed; access denied stops the run, named."""

from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from dagster import build_asset_context
from dagster_aws.s3 import S3Resource

from recsys_assets.cli.run import PipelineError, run_pipeline
from recsys_assets.defs.ingest import assets as ingest
from recsys_assets.defs.marketing import assets as segments
from recsys_assets.defs.marketing.assets import emails
from recsys_assets.defs.model import assets as model
from recsys_assets.emails.render import email_filename
from recsys_assets.environment import RunOptions
from recsys_assets.resources.bedrock import BedrockEmailWriter, BedrockRefused
from recsys_assets.resources.object_store import LocalObjectStore
from recsys_assets.resources.profile_store import SqliteProfileStore
from recsys_assets.resources.s3 import S3ObjectStore
from recsys_assets.sample.generator import generate_catalog, write_catalog

from .conftest import GOOD, PRODUCTS, mailable, reply, stubbed_bedrock
from .conftest import RECOMMENDATIONS_U1_U2 as RECOMMENDATIONS
from .conftest import USERS_U1_U2 as USERS


def materialize_emails(monkeypatch, store, replies: list, products=PRODUCTS):
    """The emails asset of segment `general` with a Bedrock writer whose client answers `replies` in order."""
    writer = BedrockEmailWriter(max_concurrency=1, backoff_seconds=0.0, throttle_attempts=1)
    client, stubber = stubbed_bedrock(replies)
    monkeypatch.setattr(BedrockEmailWriter, "client", lambda self: client)  # the asset gets a copy of the writer
    with stubber:
        context = build_asset_context(partition_key="general")
        result = emails(context, RECOMMENDATIONS, products, USERS, mailable(USERS), writer, store)
    stubber.assert_no_pending_responses()
    return result


def test_a_rerun_asks_the_model_only_for_emails_that_fell_back_or_whose_inputs_changed(monkeypatch, tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    first = materialize_emails(
        monkeypatch, store, [reply(GOOD), "ThrottlingException"]
    )  # U1 from the model, U2 falls back
    assert first.metadata["emails_from_model"] == 1 and first.metadata["emails_fallback"] == 1
    u1 = tmp_path / "emails" / "general" / email_filename(pd.Series(["U1"])).iloc[0]
    u1_bytes, u1_mtime = u1.read_bytes(), u1.stat().st_mtime_ns

    second = materialize_emails(monkeypatch, store, [reply(GOOD)])  # one call: U2's
    assert second.metadata["emails_reused"] == 1 and second.metadata["emails_from_model"] == 1
    assert (u1.read_bytes(), u1.stat().st_mtime_ns) == (u1_bytes, u1_mtime)
    assert second.value[["user_id", "subject", "status"]].values.tolist() == [
        ["U1", GOOD["subject"], "written"],
        ["U2", GOOD["subject"], "written"],
    ]

    assert materialize_emails(monkeypatch, store, []).metadata["emails_reused"] == 2  # nothing left to ask
    cheaper = PRODUCTS.assign(discounted_price=[999.0, 250.0, 10.0])
    changed = materialize_emails(
        monkeypatch, store, [reply(GOOD), reply(GOOD)], products=cheaper
    )  # both show P1's price
    assert changed.metadata["emails_reused"] == 0


def test_bedrock_access_denied_stops_the_run_and_once_granted_every_email_comes_from_the_model(monkeypatch, tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    with pytest.raises(BedrockRefused, match="AccessDenied"):
        materialize_emails(monkeypatch, store, ["AccessDeniedException"])
    assert not store.exists("email_inputs/general.parquet")  # nothing half written that a re-run would reuse
    again = materialize_emails(monkeypatch, store, [reply(GOOD), reply(GOOD)])
    assert again.metadata["emails_reused"] == 0 and again.metadata["emails_from_model"] == 2


def test_s3_access_denied_is_an_error_naming_the_call():
    store = S3ObjectStore(
        s3=S3Resource(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"), bucket="b"
    )
    stubber = Stubber(store.client())
    stubber.add_client_error(
        "get_object", service_error_code="AccessDenied", service_message="Access Denied", http_status_code=403
    )
    with (
        stubber,
        pytest.raises(ClientError, match=r"\(AccessDenied\) when calling the GetObject operation: Access Denied"),
    ):
        store.read_bytes("inbox/a.csv")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A small catalog run once through `recsys run`; each test breaks one table's check and runs again."""
    home, inbox = tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("inbox")
    write_catalog(generate_catalog(n_products=20, n_users=30, n_reviews=80, seed=4), inbox / "a.csv")
    options = RunOptions(home=str(home), input_location=str(inbox), num_results=3)
    run_pipeline(options)
    return SimpleNamespace(options=options, home=home, profiles=SqliteProfileStore(path=str(home / "profiles.sqlite")))


def served_state(served) -> dict:
    """What is published: the profile store's tables and the exported CSVs."""
    tables = {name: served.profiles.read_table(name) for name in ("products", "users", "recommendations")}
    csvs = {
        p.name: p.read_bytes()
        for p in [served.home / "recommendations.csv", *(served.home / "recommendations").glob("*.csv")]
    }
    return {"tables": tables, "csvs": csvs}


def assert_same_state(before: dict, after: dict) -> None:
    for name, frame in before["tables"].items():
        pd.testing.assert_frame_equal(after["tables"][name], frame)
    assert after["csvs"] == before["csvs"]


@pytest.mark.parametrize(
    "module, name, broken",
    [
        (ingest, "build_products", lambda build: lambda rows: build(rows).assign(rating=9.0)),
        (ingest, "build_users", lambda build: lambda *inputs: build(*inputs).assign(review_count=0)),
        (segments, "assign_segments", lambda build: lambda *a, **k: build(*a, **k).assign(segment="Not A Slug")),
        (
            model,
            "curate",
            lambda build: lambda *a, **k: replace(curated := build(*a, **k), table=curated.table.assign(RANK=0)),
        ),
    ],
    ids=["products", "users", "customer_segments", "recommendations"],
)
def test_a_table_that_fails_its_blocking_check_publishes_nothing(served, monkeypatch, module, name, broken):
    before = served_state(served)
    monkeypatch.setattr(module, name, broken(getattr(module, name)))
    with pytest.raises(PipelineError, match="matches_schema"):
        run_pipeline(served.options)
    assert_same_state(before, served_state(served))
