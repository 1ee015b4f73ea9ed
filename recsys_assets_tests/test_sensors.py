"""Sensors: the inbox becomes raw partitions, segments become partitions, new interactions retrain."""

import os
from types import SimpleNamespace

import pandas as pd
import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SensorResult,
    SkipReason,
    build_sensor_context,
    evaluate_automation_conditions,
)
from dagster._core.test_utils import create_run_for_test

from recsys_assets.definitions import build_definitions
from recsys_assets.defs.ingest import sensors
from recsys_assets.defs.ingest.sensors import inbox_sensor, new_inbox_files
from recsys_assets.defs.marketing.sensors import segment_sensor
from recsys_assets.defs.model.sensors import retrain_sensor
from recsys_assets.defs.partitions import raw_files, segments
from recsys_assets.emails.render import email_filename
from recsys_assets.environment import RunOptions
from recsys_assets.resources.object_store import LocalObjectStore, StoredObject
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.sample.generator import generate_catalog, write_catalog

from .conftest import write_users_file


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as instance:
        yield instance


def evaluate_inbox(instance, inbox, cursor=None, limit=20, settle=0):
    resources = {
        "storage": LocalObjectStore(root=str(inbox.parent / "home")),
        "settings": PipelineSettings(input_location=str(inbox), max_files_per_tick=limit, inbox_settle_seconds=settle),
    }
    return tick_inbox(instance, resources, cursor)


def tick_inbox(instance, resources, cursor=None):
    """One inbox sensor tick (the storage resource holds its home while the tick runs)."""
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return inbox_sensor(context)


def sensor_resources(defs):
    """The inbox sensor's resources in `defs`, reading a file on first sight (no settle wait)."""
    settings = PipelineSettings(input_location=defs.resources["settings"].input_location, inbox_settle_seconds=0)
    return {"storage": defs.resources["storage"], "settings": settings}


def test_a_new_file_is_one_run_request_for_its_partition_and_never_twice(tmp_path, instance):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.csv").write_text("x")
    (inbox / "notes.txt").write_text("not an input")
    first = evaluate_inbox(instance, inbox)
    assert isinstance(first, SensorResult)
    assert [(r.partition_key, r.run_key.split(":")[0]) for r in first.run_requests] == [("a.csv", "a.csv")]
    assert first.dynamic_partitions_requests[0].partition_keys == ["a.csv"]
    assert evaluate_inbox(instance, inbox, first.cursor).run_requests == []


def test_a_gzip_compressed_csv_is_an_input_and_its_run_reads_every_table_of_the_file(tmp_path, instance):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "orders.csv.gz").write_bytes(b"x")
    (inbox / "notes.txt.gz").write_bytes(b"x")
    [request] = evaluate_inbox(instance, inbox).run_requests
    assert request.partition_key == "orders.csv.gz"
    assert {key.to_user_string() for key in request.asset_selection} == {
        *(f"file_{name}" for name in ("products", "customers", "events", "reviews", "suppressions", "sentiment")),
        "rejected_rows",
    }


def test_a_file_rewritten_in_place_is_requested_again_with_a_new_run_key(tmp_path, instance):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "a.csv"
    path.write_text("x")
    os.utime(path, (1_000, 1_000))
    first = evaluate_inbox(instance, inbox)
    instance.add_dynamic_partitions(raw_files.name, ["a.csv"])
    path.write_text("x, rewritten")
    os.utime(path, (2_000, 2_000))
    second = evaluate_inbox(instance, inbox, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["a.csv"]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    assert second.dynamic_partitions_requests[0].partition_keys == []


def test_a_file_older_than_those_handled_is_read_once_and_again_when_rewritten(tmp_path, instance):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "today.csv").write_text("x")
    os.utime(inbox / "today.csv", (2_000, 2_000))
    first = evaluate_inbox(instance, inbox)
    old = inbox / "yesterday.csv"  # moved in with `mv` or `cp -p`: it keeps its older modification time
    old.write_text("y")
    os.utime(old, (1_000, 1_000))
    second = evaluate_inbox(instance, inbox, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["yesterday.csv"]
    assert evaluate_inbox(instance, inbox, second.cursor).run_requests == []
    old.write_text("y, corrected")
    os.utime(old, (1_500, 1_500))
    third = evaluate_inbox(instance, inbox, second.cursor)
    assert [r.partition_key for r in third.run_requests] == ["yesterday.csv"]
    assert third.run_requests[0].run_key != second.run_requests[0].run_key


def test_a_file_is_read_once_it_has_been_unchanged_for_the_settle_interval(tmp_path, instance, monkeypatch):
    clock = [1_000.0]
    monkeypatch.setattr(sensors, "time", SimpleNamespace(time=lambda: clock[0]))
    settle = PipelineSettings().inbox_settle_seconds
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "export.csv"
    path.write_text("product_id,")  # an upload in progress
    writing = evaluate_inbox(instance, inbox, settle=settle)
    assert writing.run_requests == [] and writing.skip_reason.skip_message.endswith("1 waiting to settle")
    with path.open("a") as upload:
        upload.write("product_name\n")
    clock[0] += settle
    changed = evaluate_inbox(instance, inbox, writing.cursor, settle=settle)
    assert changed.run_requests == []  # it changed since the last tick: it waits anew
    clock[0] += settle
    settled = evaluate_inbox(instance, inbox, changed.cursor, settle=settle)
    assert [r.partition_key for r in settled.run_requests] == ["export.csv"]
    clock[0] += settle
    assert evaluate_inbox(instance, inbox, settled.cursor, settle=settle).run_requests == []


def test_files_arriving_in_the_same_second_are_not_missed_and_work_per_tick_is_bounded():
    objects = [
        StoredObject("in/a.csv", "1", 10.0),
        StoredObject("in/b.csv", "1", 10.0),
        StoredObject("in/c.csv", "1", 11.0),
    ]
    first, cursor = new_inbox_files(objects[:1], {}, limit=5, now=20.0, settle_seconds=0)
    assert [o.key for o, _ in first] == ["in/a.csv"]
    second, cursor = new_inbox_files(objects, cursor, limit=1, now=20.0, settle_seconds=0)
    assert [o.key for o, _ in second] == ["in/b.csv"]
    third, cursor = new_inbox_files(objects, cursor, limit=5, now=20.0, settle_seconds=0)
    assert [o.key for o, _ in third] == ["in/c.csv"]
    assert new_inbox_files(objects, cursor, limit=5, now=20.0, settle_seconds=0)[0] == []


def test_a_file_put_back_to_an_earlier_version_is_read_again_with_a_run_key_of_its_own(tmp_path, instance, monkeypatch):
    clock = [1_000.0]
    monkeypatch.setattr(sensors, "time", SimpleNamespace(time=lambda: clock[0]))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path, cursor, run_keys = inbox / "p.csv", None, []
    for content in ("version 1", "version 2 is longer") * 2:  # `cp -p backup.csv p.csv` restores size and mtime
        path.write_text(content)
        os.utime(path, (1_700_000_000, 1_700_000_000))
        result = evaluate_inbox(instance, inbox, cursor)
        clock[0] += 60
        again = evaluate_inbox(
            instance, inbox, cursor
        )  # a tick evaluated again from the same cursor (its cursor was not saved)
        assert [r.run_key for r in again.run_requests] == [r.run_key for r in result.run_requests]
        cursor, run_keys = result.cursor, run_keys + [r.run_key for r in result.run_requests]
    assert len(run_keys) == len(set(run_keys)) == 4  # Dagster skips a run key it has already seen: each must be new


def test_a_file_that_leaves_and_comes_back_is_read_only_if_it_changed():
    a, b = StoredObject("in/p.csv", "A", 10.0), StoredObject("in/p.csv", "B", 10.0)
    _, cursor = new_inbox_files([a], {}, limit=5, now=0.0, settle_seconds=0)
    _, cursor = new_inbox_files([b], cursor, limit=5, now=1.0, settle_seconds=0)
    _, cursor = new_inbox_files([], cursor, limit=5, now=2.0, settle_seconds=0)  # moved away
    assert new_inbox_files([b], cursor, limit=5, now=3.0, settle_seconds=0)[0] == []  # back as it was handled
    assert new_inbox_files([a], cursor, limit=5, now=3.0, settle_seconds=0)[0] == [(a, 2)]  # back as an older version


def report(instance, asset: str, **metadata):
    instance.report_runless_asset_event(AssetMaterialization(asset, metadata=metadata))


def test_segments_become_partitions_and_a_departed_segment_stops_being_one(instance):
    report(instance, "customer_segments", segment_names=["electronics", "general"])
    first = segment_sensor(build_sensor_context(instance=instance))
    added, deleted = first.dynamic_partitions_requests
    assert (added.partition_keys, deleted.partition_keys) == (["electronics", "general"], [])
    assert first.run_requests == []
    instance.add_dynamic_partitions(segments.name, ["electronics", "general"])
    assert isinstance(segment_sensor(build_sensor_context(instance=instance, cursor=first.cursor)), SkipReason)
    report(instance, "customer_segments", segment_names=["general", "toys-games"])
    second = segment_sensor(build_sensor_context(instance=instance, cursor=first.cursor))
    added, deleted = second.dynamic_partitions_requests
    assert (added.partition_keys, deleted.partition_keys) == (["toys-games"], ["electronics"])
    assert second.run_requests == []


def test_a_departed_segment_with_a_run_under_way_is_deleted_after_it_and_cleared_again(instance):
    report(instance, "customer_segments", segment_names=["electronics", "general"])
    instance.add_dynamic_partitions(segments.name, ["electronics", "general"])
    running = create_run_for_test(
        instance, job_name="segment_job", status=DagsterRunStatus.STARTED, tags={"dagster/partition": "electronics"}
    )
    report(instance, "customer_segments", segment_names=["general"])
    waiting = segment_sensor(build_sensor_context(instance=instance))
    assert waiting.dynamic_partitions_requests[1].partition_keys == [] and waiting.run_requests == []
    instance.report_run_failed(running)
    done = segment_sensor(build_sensor_context(instance=instance, cursor=waiting.cursor))
    assert done.dynamic_partitions_requests[1].partition_keys == ["electronics"]
    assert [r.asset_selection[0].to_user_string() for r in done.run_requests] == ["current_customers_served"]
    instance.delete_dynamic_partition(segments.name, "electronics")
    assert isinstance(segment_sensor(build_sensor_context(instance=instance, cursor=done.cursor)), SkipReason)


def test_the_model_retrains_when_enough_new_interactions_arrived(instance):
    settings = PipelineSettings(retrain_min_new_interactions=100, retrain_new_share=0.1)
    context = lambda: build_sensor_context(instance=instance, resources={"settings": settings})  # noqa: E731
    assert isinstance(retrain_sensor(context()), SkipReason)
    report(instance, "interactions", **{"dagster/row_count": 2000})
    report(instance, "recommender_model", trained_interactions=2000)
    report(instance, "interactions", **{"dagster/row_count": 2150})
    assert isinstance(retrain_sensor(context()), SkipReason)  # 150 < 10% of 2,000
    report(instance, "interactions", **{"dagster/row_count": 2200})
    request = retrain_sensor(context())
    assert isinstance(request, RunRequest) and request.asset_selection[0].to_user_string() == "recommender_model"


def run_sensor_requests(defs, instance, result):
    """Do what the daemon does with a sensor result: add partitions, launch the requested runs."""
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    for run in result.run_requests:
        assert (
            defs.resolve_job_def("ingest_file_job")
            .execute_in_process(instance=instance, partition_key=run.partition_key)
            .success
        )


def serve_every_segment(defs, instance):
    """What automation does after new raw data: rebuild the catalog and model, then every segment."""
    assert defs.resolve_job_def("catalog_job").execute_in_process(instance=instance).success
    result = segment_sensor(build_sensor_context(instance=instance))
    instance.add_dynamic_partitions(segments.name, result.dynamic_partitions_requests[0].partition_keys)
    for segment in instance.get_dynamic_partitions(segments.name):
        assert defs.resolve_job_def("segment_job").execute_in_process(instance=instance, partition_key=segment).success


def test_a_second_file_in_the_inbox_adds_its_customers_emails_without_duplicates(tmp_path, instance):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    inbox.mkdir()
    first_catalog = generate_catalog(n_products=40, n_users=80, n_reviews=400, seed=11)
    write_catalog(first_catalog, inbox / "monday.csv")
    write_users_file(inbox / "monday.csv", inbox)
    defs = build_definitions(RunOptions(home=str(home), input_location=str(inbox)))
    resources = sensor_resources(defs)

    first = tick_inbox(instance, resources)
    assert [r.partition_key for r in first.run_requests] == ["monday.csv", "monday-users.csv"]
    run_sensor_requests(defs, instance, first)
    serve_every_segment(defs, instance)
    users_before = set(pd.read_parquet(home / "assets" / "users.parquet")["user_id"])

    second_catalog = generate_catalog(n_products=40, n_users=60, n_reviews=300, seed=12)
    repriced = first_catalog.iloc[[0]].assign(discounted_price="₹1")  # a product listed again, cheaper
    write_catalog(pd.concat([second_catalog, repriced]), inbox / "tuesday.csv")
    write_users_file(inbox / "tuesday.csv", inbox)
    second = tick_inbox(instance, resources, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["tuesday.csv", "tuesday-users.csv"]
    run_sensor_requests(defs, instance, second)
    serve_every_segment(defs, instance)

    users = pd.read_parquet(home / "assets" / "users.parquet")
    new_users = set(users["user_id"]) - users_before
    assert len(new_users) == 60
    emails = [p.name for p in (home / "emails").glob("*/*.eml")]
    assert len(emails) == len(set(emails)) == len(users)
    assert set(email_filename(pd.Series(sorted(new_users)))) <= set(emails)
    products = pd.read_parquet(home / "assets" / "products.parquet").set_index("product_id")
    assert products.index.is_unique and products.loc[repriced["product_id"].iloc[0], "discounted_price"] == 1.0
    reviews = pd.read_parquet(home / "assets" / "reviews.parquet")
    assert not reviews.duplicated(["user_id", "product_id"]).any()
    assert len(reviews) == 700


def test_files_found_in_one_tick_are_registered_oldest_first_so_the_newer_file_wins(tmp_path, instance):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    inbox.mkdir()
    catalog = generate_catalog(n_products=30, n_users=60, n_reviews=200, seed=3)
    write_catalog(catalog, inbox / "z-october.csv")
    os.utime(inbox / "z-october.csv", (1_700_000_000, 1_700_000_000))
    write_catalog(catalog.iloc[[0]].assign(discounted_price="₹1"), inbox / "a-november.csv")  # an hour later
    os.utime(inbox / "a-november.csv", (1_700_003_600, 1_700_003_600))
    defs = build_definitions(RunOptions(home=str(home), input_location=str(inbox)))
    resources = sensor_resources(defs)

    result = tick_inbox(instance, resources)
    assert [r.partition_key for r in result.run_requests] == ["z-october.csv", "a-november.csv"]
    run_sensor_requests(defs, instance, result)
    assert instance.get_dynamic_partitions(raw_files.name) == ["z-october.csv", "a-november.csv"]
    assert defs.resolve_job_def("catalog_job").execute_in_process(instance=instance).success
    products = pd.read_parquet(home / "assets" / "products.parquet").set_index("product_id")
    assert products.loc[catalog["product_id"].iloc[0], "discounted_price"] == 1.0


def test_the_inbox_sensor_works_on_an_s3_prefix(instance):
    from dagster_aws.s3 import S3Resource
    from moto import mock_aws

    from recsys_assets.resources.s3 import S3ObjectStore

    with mock_aws():
        store = S3ObjectStore(s3=S3Resource(region_name="us-east-1"), bucket="shop", prefix="recsys")
        store.client().create_bucket(Bucket="shop")
        store.write_bytes("inbox/a.csv", b"first")
        store.write_bytes("inbox/readme.txt", b"not an input")
        resources = {"storage": store, "settings": PipelineSettings(input_location="inbox", inbox_settle_seconds=0)}

        def evaluate(cursor=None):
            with build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
                return inbox_sensor(context)

        first = evaluate()
        etag = store.client().head_object(Bucket="shop", Key="recsys/inbox/a.csv")["ETag"].strip('"')
        assert [(r.partition_key, r.run_key.rsplit(":", 1)[0]) for r in first.run_requests] == [
            ("a.csv", f"a.csv:{etag}")
        ]
        assert evaluate(first.cursor).run_requests == []
        store.write_bytes("inbox/a.csv", b"rewritten")
        store.write_bytes("inbox/b.csv", b"second")
        second = evaluate(first.cursor)
        assert sorted(r.partition_key for r in second.run_requests) == ["a.csv", "b.csv"]
        assert f"a.csv:{etag}" not in {r.run_key.rsplit(":", 1)[0] for r in second.run_requests}


def test_a_file_whose_ingest_failed_does_not_hold_back_the_next_files(tmp_path, instance):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    inbox.mkdir()
    write_catalog(generate_catalog(n_products=30, n_users=60, n_reviews=200, seed=1), inbox / "a.csv")
    (inbox / "broken.csv").write_text("product_id;user_id\n1;2\n")  # a semicolon export: the file is refused
    write_catalog(generate_catalog(n_products=30, n_users=60, n_reviews=200, seed=2), inbox / "b.csv")
    defs = build_definitions(RunOptions(home=str(home), input_location=str(inbox)))
    ingest = defs.resolve_job_def("ingest_file_job")
    instance.add_dynamic_partitions(raw_files.name, ["a.csv", "broken.csv", "b.csv"])
    assert ingest.execute_in_process(instance=instance, partition_key="a.csv").success
    assert defs.resolve_job_def("catalog_job").execute_in_process(instance=instance).success
    handled = evaluate_automation_conditions(defs=defs, instance=instance)
    assert not ingest.execute_in_process(instance=instance, partition_key="broken.csv", raise_on_error=False).success
    assert ingest.execute_in_process(instance=instance, partition_key="b.csv").success

    after = evaluate_automation_conditions(defs=defs, instance=instance, cursor=handled.cursor)
    assert {name: after.get_num_requested(AssetKey(name)) for name in ("products", "reviews", "users")} == {
        "products": 1,
        "reviews": 1,
        "users": 1,
    }
