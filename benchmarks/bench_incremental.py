"""How long adding a new file to the inbox takes, compared with the whole run.

Generates a catalog of N reviews, runs everything on it (one file), then drops a second file of 1%
of N reviews (new customers and a few repeated products) and runs only what the sensors and the
automation would: the new file's partition (read + sentiment), the catalog and model, every
segment. Results go to benchmarks/RESULTS.md between the BEGIN/END incremental markers.

    python benchmarks/bench_incremental.py [--reviews 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dagster import DagsterInstance
from results import write_section

from recsys_assets.definitions import build_definitions
from recsys_assets.defs.partitions import raw_files, segments
from recsys_assets.environment import RunOptions
from recsys_assets.sample.generator import generate_catalog, write_catalog

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def timed_runs(defs, instance, file_key: str) -> dict[str, float]:
    """Seconds of: reading and scoring one file, rebuilding the catalog and model, serving every segment."""
    times = {}
    started = time.perf_counter()
    instance.add_dynamic_partitions(raw_files.name, [file_key])
    defs.resolve_job_def("ingest_file_job").execute_in_process(
        instance=instance, partition_key=file_key, run_config=QUIET
    )
    times["read + score the file"] = time.perf_counter() - started
    started = time.perf_counter()
    catalog = defs.resolve_job_def("catalog_job").execute_in_process(instance=instance, run_config=QUIET)
    times["catalog, sentiment join, interactions, model, segments"] = time.perf_counter() - started
    names = catalog.asset_materializations_for_node("customer_segments")[0].metadata["segment_names"].value
    instance.add_dynamic_partitions(segments.name, names)
    started = time.perf_counter()
    for name in names:
        defs.resolve_job_def("segment_job").execute_in_process(instance=instance, partition_key=name, run_config=QUIET)
    times["recommendations + emails, every segment"] = time.perf_counter() - started
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reviews", type=int, default=100_000)
    args = parser.parse_args()
    n = args.reviews
    with tempfile.TemporaryDirectory() as folder:
        inbox = Path(folder) / "inbox"
        inbox.mkdir()
        write_catalog(generate_catalog(n_products=n // 10, n_users=n // 5, n_reviews=n, seed=1), inbox / "full.csv")
        defs = build_definitions(RunOptions(home=str(Path(folder) / "home"), input_location=str(inbox)))
        with DagsterInstance.ephemeral() as instance:
            full = timed_runs(defs, instance, "full.csv")
            write_catalog(
                generate_catalog(n_products=n // 1000, n_users=n // 500, n_reviews=n // 100, seed=2),
                inbox / "one-percent.csv",
            )
            added = timed_runs(defs, instance, "one-percent.csv")
    lines = [
        f"Measured on {time.strftime('%Y-%m-%d')} on 2 cores with "
        f"`python benchmarks/bench_incremental.py --reviews {n}`: "
        f"a first file of {n:,} reviews, then a second file of {n // 100:,} reviews (1%) dropped in the inbox.",
        "",
        "| step | first file (full run) | adding the 1% file |",
        "|---|---:|---:|",
    ]
    lines += [f"| {step} | {full[step]:.1f} s | {added[step]:.1f} s |" for step in full]
    lines.append(f"| **total** | **{sum(full.values()):.1f} s** | **{sum(added.values()):.1f} s** |")
    lines += [
        "",
        "Reading and scoring are per file, so the new file costs only its own reviews there; the catalog, "
        "the model and the segments are rebuilt from every file (vectorized, so that is cheap except the "
        "model training); emails are written again only for customers whose email inputs changed (their "
        "recommendations, name or the templates), the others are kept as they are.",
    ]
    write_section("incremental", "Adding a file to the inbox", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
