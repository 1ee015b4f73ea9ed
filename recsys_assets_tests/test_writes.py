"""Writes are whole or absent, one run holds a home, the inbox skips the home, and errors say what happened."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from dagster import DagsterInstance, build_sensor_context

from recsys_assets.cli import main
from recsys_assets.cli.run import inbox_files
from recsys_assets.defs.ingest.sensors import inbox_sensor
from recsys_assets.home_lock import HomeInUse, hold_home
from recsys_assets.resources.object_store import LocalObjectStore
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.resources.profile_store import ProfileStoreError, SqliteProfileStore

PYTHON = [sys.executable, "-c"]
SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "inbox", "sample.csv")


def one_error_line(capsys, command: str) -> str:
    """The single line a failed command printed on stderr (no traceback)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"recsys {command} failed: ")
    return err.strip()


def no_temporaries(folder) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.name.endswith(".partial")]


# Writes


def test_writers_racing_on_one_key_never_fail_and_a_reader_never_sees_a_partial_file(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    contents = {b"a" * 400_000, b"b" * 200_000}
    store.write_bytes("emails/U1.eml", b"a" * 400_000)
    errors, reads, stop = [], [], threading.Event()

    def write(data: bytes) -> None:
        try:
            for _ in range(150):
                store.write_bytes("emails/U1.eml", data)
        except Exception as error:  # noqa: BLE001 (the test reports any)
            errors.append(error)

    def read() -> None:
        while not stop.is_set():
            reads.append(store.read_bytes("emails/U1.eml"))

    writers = [threading.Thread(target=write, args=(data,)) for data in contents]
    reader = threading.Thread(target=read)
    for thread in [*writers, reader]:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert errors == []
    assert reads and {len(data) for data in reads} <= {len(data) for data in contents}
    assert set(reads) <= contents
    assert no_temporaries(tmp_path) == []


def test_a_rewritten_file_keeps_its_permissions_and_a_symlink_keeps_pointing_at_it(tmp_path):
    from recsys_assets.files import write_atomic

    private, link = tmp_path / "private.csv", tmp_path / "link.csv"
    private.write_bytes(b"old")
    private.chmod(0o600)
    link.symlink_to(private)
    write_atomic(link, b"new")
    assert link.is_symlink() and private.read_bytes() == b"new" and private.stat().st_mode & 0o777 == 0o600
    write_atomic(tmp_path / "fresh.csv", b"x")
    assert (tmp_path / "fresh.csv").stat().st_mode & 0o777 == 0o666 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_temporaries_a_killed_writer_left_are_removed_when_a_run_holds_the_home(tmp_path):
    left = tmp_path / "home" / "emails" / "general" / ".u1.eml.k3j2x.partial"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"half an email")
    with hold_home(tmp_path / "home", "recsys run", exclusive=False):
        assert left.exists()  # a shared holder may be writing it
    with hold_home(tmp_path / "home", "recsys run"):
        assert not left.exists()


@pytest.fixture
def small_disk(tmp_path):
    """A 200 KiB tmpfs (skipped where it cannot be mounted)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_write_that_fills_the_disk_names_the_file_and_cause_and_leaves_nothing_behind(small_disk):
    store = LocalObjectStore(root=str(small_disk))
    with pytest.raises(OSError) as raised:
        store.write_bytes("assets/big.parquet", b"x" * 400_000)
    assert str(raised.value) == (
        f"{small_disk}/assets/big.parquet: no space left on the device; free some space or choose another folder"
    )
    assert not (small_disk / "assets" / "big.parquet").exists() and no_temporaries(small_disk) == []


def test_a_run_that_fills_the_disk_exits_2_with_the_step_file_and_cause_and_leaves_no_temporary(small_disk, capsys):
    assert main(["run", "--input", SAMPLE, "--home", str(small_disk / "home")]) == 2
    line = one_error_line(capsys, "run")
    assert " failed: " in line.removeprefix("recsys run failed: ")  # the step
    assert "Error occurred while handling output" not in line
    assert line.endswith(".parquet: no space left on the device; free some space or choose another folder")
    assert no_temporaries(small_disk) == []


def test_a_home_that_is_a_file_or_read_only_is_one_line_saying_so(tmp_path, capsys):
    home = tmp_path / "home"
    home.write_text("not a folder")
    assert main(["run", "--input", SAMPLE, "--home", str(home)]) == 2
    assert one_error_line(capsys, "run") == (
        f"recsys run failed: {home}: a file is in the way of a folder; move that file or choose another folder"
    )
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(read_only)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip("cannot mount a read-only tmpfs")
    try:
        assert main(["run", "--input", SAMPLE, "--home", str(read_only)]) == 2
        assert one_error_line(capsys, "run").endswith(": the file system is read-only; choose a writable folder")
    finally:
        subprocess.run(["umount", str(read_only)], check=True)


# One run per home


HOLD = (
    "import sys, time; from recsys_assets.home_lock import hold_home\n"
    "with hold_home(sys.argv[1], 'recsys run --input other.csv', exclusive=sys.argv[2] == 'x'):\n"
    "    print('held', flush=True); time.sleep(60)\n"
)


@pytest.fixture
def holder(tmp_path):
    """Start a process holding a home (exclusively: 'x', shared: 's') until the test ends."""
    processes = []

    def start(home, mode="x"):
        process = subprocess.Popen([*PYTHON, HOLD, str(home), mode], stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline() == "held\n"
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.kill()
        process.wait()


def test_a_second_run_on_a_held_home_exits_2_naming_the_holder(tmp_path, holder, capsys):
    process = holder(tmp_path / "home")
    assert main(["run", "--input", SAMPLE, "--home", str(tmp_path / "home")]) == 2
    line = one_error_line(capsys, "run")
    assert f"{tmp_path / 'home'} is in use by recsys run --input other.csv (pid {process.pid} on " in line
    assert line.endswith("wait for it to finish, or choose another home (--home, RECSYS_HOME)")
    assert not (tmp_path / "home" / "assets").exists()  # it read and wrote nothing


def test_two_runs_at_once_on_one_home_one_succeeds_and_the_other_exits_2(tmp_path, capsys):
    home = tmp_path / "home"
    command = "import sys; from recsys_assets.cli import main; sys.exit(main(sys.argv[1:]))"
    first = subprocess.Popen([*PYTHON, command, "run", "--input", SAMPLE, "--home", str(home)], stdout=subprocess.PIPE)
    deadline = time.time() + 60
    while not (home / ".lock").exists() or not (home / ".lock").read_text():  # the first run holds the home
        assert time.time() < deadline and first.poll() is None
        time.sleep(0.05)
    assert main(["run", "--input", str(tmp_path), "--home", str(home)]) == 2
    assert f"is in use by recsys run --input {SAMPLE} (pid {first.pid} " in one_error_line(capsys, "run")
    assert first.wait(timeout=300) == 0
    assert (home / ".lock").read_text() == ""  # released, no record left


def test_a_killed_holder_does_not_block_the_home(tmp_path, holder):
    process = holder(tmp_path / "home")
    with pytest.raises(HomeInUse):
        with hold_home(tmp_path / "home", "recsys run"):
            pass
    process.kill()
    process.wait()
    with hold_home(tmp_path / "home", "recsys run"):
        assert json.loads((tmp_path / "home" / ".lock").read_text())["pid"] == os.getpid()


def test_dagster_steps_share_a_home_but_never_with_a_recsys_run(tmp_path, holder):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    resources = {
        "storage": LocalObjectStore(root=str(tmp_path / "home")),
        "settings": PipelineSettings(input_location=str(inbox)),
    }
    holder(tmp_path / "home", "s")  # a step of a run launched from the UI
    with build_sensor_context(instance=DagsterInstance.ephemeral(), resources=resources) as context:
        inbox_sensor(context)  # steps and ticks side by side
    with pytest.raises(HomeInUse, match=r"is in use by a Dagster run \(a step or a sensor tick, e.g. launched from"):
        with hold_home(tmp_path / "home", "recsys run"):
            pass
    holder(tmp_path / "other", "x")  # a recsys run
    with pytest.raises(Exception) as raised:  # Dagster's error about the resource, caused by ours
        with build_sensor_context(
            instance=DagsterInstance.ephemeral(),
            resources={**resources, "storage": LocalObjectStore(root=str(tmp_path / "other"))},
        ) as context:
            inbox_sensor(context)
    assert isinstance(raised.value.__cause__, HomeInUse)
    assert "is in use by recsys run --input other.csv" in str(raised.value.__cause__)


# The inbox


def test_a_home_inside_the_inbox_is_not_read_as_input(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "out" / "personalize").mkdir(parents=True)
    (inbox / "catalog.csv").write_text("x")
    (inbox / "out" / "personalize" / "interactions.csv").write_text("x")
    store = LocalObjectStore(root=str(inbox / "out"))
    assert inbox_files(store, str(inbox)) == (str(inbox), ["catalog.csv"])
    resources = {"storage": store, "settings": PipelineSettings(input_location=str(inbox), inbox_settle_seconds=0)}
    with build_sensor_context(instance=DagsterInstance.ephemeral(), resources=resources) as context:
        assert [r.partition_key for r in inbox_sensor(context).run_requests] == ["catalog.csv"]


def test_an_s3_inbox_that_holds_the_stores_prefix_skips_it_and_one_inside_it_keeps_everything():
    from dagster_aws.s3 import S3Resource

    from recsys_assets.resources.s3 import S3ObjectStore

    store = S3ObjectStore(s3=S3Resource(), bucket="b", prefix="recsys")
    assert store.written_here("s3://b/recsys/personalize/interactions.csv", "s3://b/")
    assert not store.written_here("s3://b/exports/catalog.csv", "s3://b/")
    assert not store.written_here("inbox/catalog.csv", "inbox")  # s3://b/recsys/inbox/, the usual inbox


# Errors that say what happened


def test_a_corrupt_profile_store_is_named_with_what_to_do(tmp_path):
    path = tmp_path / "profiles.sqlite"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(ProfileStoreError) as raised:
        SqliteProfileStore(path=str(path)).count("products")
    assert str(raised.value) == (
        f"{path}: file is not a database; it is a serving copy of the pipeline's tables: delete it and run again "
        "(recsys run rebuilds it)"
    )


def test_sentiment_to_a_full_device_is_one_line(tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_text("I love it\n")
    assert main(["sentiment", str(texts), "--out", "/dev/full"]) == 2
    assert one_error_line(capsys, "sentiment") == (
        "recsys sentiment failed: /dev/full: no space left on the device; free some space or choose another folder"
    )


def test_sentiment_out_is_replaced_whole_and_a_failed_write_keeps_the_old_file(tmp_path, capsys, monkeypatch):
    texts, out = tmp_path / "texts.txt", tmp_path / "scores.csv"
    texts.write_text("I love it\n")
    out.write_text("old scores\n")
    monkeypatch.setattr("recsys_assets.cli.score_texts", lambda *args, **kwargs: 1 / 0)
    assert main(["sentiment", str(texts), "--out", str(out)]) == 2
    assert "unexpected error ZeroDivisionError: division by zero (run with --verbose for the traceback)" in (
        one_error_line(capsys, "sentiment")
    )
    assert out.read_text() == "old scores\n" and no_temporaries(tmp_path) == []
    with pytest.raises(ZeroDivisionError):
        main(["sentiment", str(texts), "--out", str(out), "--verbose"])


def test_an_impossible_sample_is_one_line(tmp_path, capsys):
    out = tmp_path / "sample.csv"
    assert main(["sample", "--out", str(out), "--products", "2", "--users", "2", "--reviews", "5"]) == 2
    assert one_error_line(capsys, "sample") == (
        "recsys sample failed: n_reviews=5 exceeds n_users * n_products: a user reviews a product at most once"
    )
    assert not out.exists()


@pytest.fixture
def s3_storage(monkeypatch):
    monkeypatch.setenv("RECSYS_STORAGE", "s3")
    monkeypatch.setenv("RECSYS_S3_BUCKET", "recsys-test")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


def test_s3_at_an_unreachable_endpoint_is_one_line(tmp_path, capsys, monkeypatch, s3_storage):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setattr("recsys_assets.environment.DEFAULT_MAX_ATTEMPTS", 1)
    assert main(["run", "--input", "inbox", "--home", str(tmp_path)]) == 2
    line = one_error_line(capsys, "run")
    assert line.startswith('recsys run failed: AWS: Could not connect to the endpoint URL: "http://127.0.0.1:9/')
    assert line.endswith("; check the endpoint, network and credentials (AWS_* variables, RECSYS_* settings)")


def test_with_s3_storage_a_local_input_path_says_to_upload_it(tmp_path, capsys, s3_storage):
    from moto import mock_aws

    with mock_aws():
        import boto3

        boto3.client("s3").create_bucket(Bucket="recsys-test")
        assert main(["run", "--input", SAMPLE, "--home", str(tmp_path)]) == 2
    line = one_error_line(capsys, "run")
    assert f"{SAMPLE} is a local path, but with RECSYS_STORAGE=s3 the input is read from the bucket" in line
    assert line.endswith("to s3://recsys-test/recsys/inbox/ and run with --input inbox")


def test_evaluate_on_a_missing_file_or_to_a_missing_folder_is_one_line(tmp_path, capsys):
    assert main(["evaluate", "--interactions", str(tmp_path / "absent.csv")]) == 2
    assert one_error_line(capsys, "evaluate") == (
        f"recsys evaluate failed: {tmp_path / 'absent.csv'}: no such file or folder; check the path"
    )
    interactions = tmp_path / "interactions.csv"
    interactions.write_text("USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,100\n")
    assert main(["evaluate", "--interactions", str(interactions), "--quarantine", str(tmp_path / "no" / "q.csv")]) == 2
    assert one_error_line(capsys, "evaluate") == (
        f"recsys evaluate failed: --quarantine {tmp_path / 'no' / 'q.csv'}: no such file or folder; check the path"
    )
