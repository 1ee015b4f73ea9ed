"""The code location: dg loads it, and a run through the sensors and jobs leaves what `recsys run` leaves."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context

from recsys_assets.cli.run import run_pipeline
from recsys_assets.definitions import build_definitions
from recsys_assets.defs.ingest.sensors import inbox_sensor
from recsys_assets.defs.marketing.sensors import segment_sensor
from recsys_assets.environment import RunOptions
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.sample.generator import generate_catalog, write_catalog

PROJECT = Path(__file__).resolve().parents[1]


def files(home: Path) -> set[str]:
    return {str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()}


def run_as_the_daemon_would(defs, instance) -> None:
    """Sensors add the partitions, their requests and the jobs materialize everything once."""
    settings = PipelineSettings(input_location=defs.resources["settings"].input_location, inbox_settle_seconds=0)
    resources = {"storage": defs.resources["storage"], "settings": settings}
    with build_sensor_context(instance=instance, resources=resources) as context:
        ticked = inbox_sensor(context)
    for request in ticked.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    for run in ticked.run_requests:
        assert (
            defs.resolve_job_def("ingest_file_job")
            .execute_in_process(instance=instance, partition_key=run.partition_key)
            .success
        )
    assert defs.resolve_job_def("catalog_job").execute_in_process(instance=instance).success
    added = segment_sensor(build_sensor_context(instance=instance)).dynamic_partitions_requests[0]
    instance.add_dynamic_partitions(added.partitions_def_name, added.partition_keys)
    for segment in added.partition_keys:
        assert defs.resolve_job_def("segment_job").execute_in_process(instance=instance, partition_key=segment).success
    assert defs.resolve_job_def("export_job").execute_in_process(instance=instance).success


def test_runs_through_the_sensors_and_jobs_leave_the_same_files_as_recsys_run(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_catalog(generate_catalog(n_products=20, n_users=40, n_reviews=150, seed=5), inbox / "a.csv")
    cli_home, ui_home = tmp_path / "cli", tmp_path / "ui"
    run_pipeline(RunOptions(home=str(cli_home), input_location=str(inbox)))
    defs = build_definitions(RunOptions(home=str(ui_home), input_location=str(inbox)))
    (tmp_path / "dagster_home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        run_as_the_daemon_would(defs, instance)
    assert files(ui_home) == files(cli_home) and "run_summary.json" in files(ui_home)
    for name in ("recommendations.csv", *sorted(f for f in files(cli_home) if f.startswith("recommendations/"))):
        assert (ui_home / name).read_bytes() == (cli_home / name).read_bytes()


def test_dg_check_defs_passes():
    dg = shutil.which("dg") or str(Path(sys.executable).with_name("dg"))
    if not os.path.exists(dg):
        pytest.skip("dg (dagster-dg-cli) is not installed")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([dg, "check", "defs"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "options, kinds",
    [
        (
            RunOptions(),
            {
                "file_sentiment": {"python", "pandas", "parquet"},
                "served_users": {"sqlite"},
                "email_deliveries": {"smtp"},
            },
        ),
        (
            RunOptions(storage="s3", s3_bucket="b", sentiment="comprehend", profiles="dynamodb", email="bedrock"),
            {
                "file_sentiment": {"comprehend", "pandas", "s3"},
                "served_users": {"dynamodb"},
                "emails": {"bedrock", "pandas", "s3"},
            },
        ),
    ],
)
def test_every_asset_has_owners_a_code_version_and_kinds_of_its_implementation(options, kinds):
    graph = build_definitions(options).resolve_asset_graph()
    nodes = {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}
    assert all(node.kinds and node.owners and node.code_version for node in nodes.values())
    assert {name: set(nodes[name].kinds) for name in kinds} == kinds
    columns = nodes["products"].metadata["dagster/column_schema"].columns
    assert columns[0].name == "product_id" and columns[0].constraints.unique


def test_make_devs_instance_lets_one_send_step_run_at_a_time_across_runs(tmp_path):
    shutil.copy(PROJECT / "deployment" / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
        for pool in ("email_sender", "bedrock"):
            assert instance.event_log_storage.get_concurrency_info(pool).limit == 1
