"""Faults: a Bedrock re-run asks the model only for what failed or changed; access denied stops the run, named."""

from types import SimpleNamespace

import pandas as pd
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from dagster import DagsterInstance, build_asset_context
from dagster_aws.s3 import S3Resource

from recsys_assets.catalog.reading import parse_catalog_csv
from recsys_assets.catalog.tables import build_products, build_users, explode_reviews
from recsys_assets.defs.ingest import assets as ingest
from recsys_assets.defs.ingest.assets import products, users
from recsys_assets.defs.marketing import assets as segments
from recsys_assets.defs.marketing.assets import customer_segments, emails
from recsys_assets.defs.model.assets import recommendations, segment_csv
from recsys_assets.defs.partitions import raw_files
from recsys_assets.resources.bedrock import BedrockEmailWriter, BedrockRefused
from recsys_assets.resources.object_store import LocalObjectStore
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.resources.profile_store import SqliteProfileStore
from recsys_assets.resources.s3 import S3ObjectStore
from recsys_assets.sample.generator import generate_catalog, write_catalog

from .conftest import GOOD, PRODUCTS, reply, stubbed_bedrock
from .conftest import RECOMMENDATIONS_U1_U2 as RECOMMENDATIONS
from .conftest import USERS_U1_U2 as USERS


def materialize_emails(monkeypatch, store, replies: list, products=PRODUCTS):
    """The emails asset of segment `general` with a Bedrock writer whose client answers `replies` in order."""
    writer = BedrockEmailWriter(max_concurrency=1, backoff_seconds=0.0, throttle_attempts=1)
    client, stubber = stubbed_bedrock(replies)
    monkeypatch.setattr(BedrockEmailWriter, "client", lambda self: client)  # the asset gets a copy of the writer
    with stubber:
        result = emails(build_asset_context(partition_key="general"), RECOMMENDATIONS, products, USERS, writer, store)
    stubber.assert_no_pending_responses()
    return result


def test_a_rerun_asks_the_model_only_for_emails_that_fell_back_or_whose_inputs_changed(monkeypatch, tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    first = materialize_emails(
        monkeypatch, store, [reply(GOOD), "ThrottlingException"]
    )  # U1 from the model, U2 falls back
    assert first.metadata["emails_from_model"] == 1 and first.metadata["emails_fallback"] == 1
    u1 = tmp_path / "emails" / "general" / "U1.eml"
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


@pytest.fixture
def served(tmp_path):
    """A small catalog's raw rows, a SQLite profile store and a Dagster context that knows its file."""
    path = tmp_path / "a.csv"
    write_catalog(generate_catalog(n_products=20, n_users=30, n_reviews=80, seed=4), path)
    raw = {"a.csv": parse_catalog_csv(path.read_bytes(), "a.csv").rows}
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(raw_files.name, ["a.csv"])
        yield SimpleNamespace(
            raw=raw,
            profiles=SqliteProfileStore(path=str(tmp_path / "profiles.sqlite")),
            instance=instance,
            home=tmp_path,
        )


def test_products_that_fail_their_blocking_check_never_reach_the_profile_store(served, monkeypatch):
    context = build_asset_context(instance=served.instance)
    good = products(context, served.raw, served.profiles)
    monkeypatch.setattr(ingest, "build_products", lambda rows: build_products(rows).assign(rating=9.0))
    bad = products(context, served.raw, served.profiles)
    assert good.check_results[0].passed and not bad.check_results[0].passed
    stored = served.profiles.read_table("products").set_index("product_id")["rating"]
    assert stored.to_dict() == good.value.set_index("product_id")["rating"].to_dict()  # still the good table


def test_users_that_fail_their_blocking_check_never_reach_the_profile_store(served, monkeypatch):
    context = build_asset_context(instance=served.instance)
    catalog, reviews = build_products(served.raw["a.csv"]), explode_reviews(served.raw["a.csv"])
    good = users(context, reviews, catalog, served.raw, served.profiles)
    monkeypatch.setattr(ingest, "build_users", lambda *inputs: build_users(*inputs).assign(review_count=0))
    bad = users(context, reviews, catalog, served.raw, served.profiles)
    assert good.check_results[0].passed and not bad.check_results[0].passed
    assert served.profiles.read_table("users")["review_count"].min() >= 1


def test_segments_that_fail_their_blocking_check_delete_no_served_recommendation(served, monkeypatch):
    kept = pd.DataFrame({"user_id": ["gone"], "rank": [1], "ITEM_ID": ["P1"]})
    served.profiles.replace_table("recommendations", kept)
    catalog, reviews = build_products(served.raw["a.csv"]), explode_reviews(served.raw["a.csv"])
    customers = build_users(reviews, catalog, served.raw["a.csv"])
    monkeypatch.setattr(
        segments,
        "assign_segments",
        lambda *_, **__: pd.DataFrame({"user_id": customers["user_id"], "segment": "Not A Slug"}),
    )
    result = customer_segments(customers, PipelineSettings(), served.profiles)
    assert not result.check_results[0].passed
    assert served.profiles.read_table("recommendations")["user_id"].tolist() == ["gone"]


def test_recommendations_that_fail_their_blocking_check_are_not_served(served):
    class RanksFromZero:
        def recommend(self, model, interactions, user_ids, num_results):
            return pd.DataFrame(
                {
                    "USER_ID": list(user_ids),
                    "RANK": 0,
                    "ITEM_ID": "P1",
                    "SCORE": 1.0,
                    "SOURCE": "popularity",
                    "REASON_ITEM_ID": None,
                    "REASON_CATEGORY": None,
                }
            )

    members = pd.DataFrame({"user_id": ["u1", "u2"], "segment": "general"})
    storage = LocalObjectStore(root=str(served.home / "home"))
    result = recommendations(
        build_asset_context(partition_key="general"),
        None,
        pd.DataFrame(),
        members,
        RanksFromZero(),
        PipelineSettings(),
        storage,
        served.profiles,
    )
    assert not result.check_results[0].passed
    assert not storage.exists(segment_csv("general")) and served.profiles.count("recommendations") == 0
