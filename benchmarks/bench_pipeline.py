"""Time each asset of the local pipeline on generated catalogs of 10k, 100k and 1M reviews.

Each size runs in its own process (so peak memory is that run's own) and the results are written
to benchmarks/RESULTS.md between the BEGIN/END markers. Usage:

    python benchmarks/bench_pipeline.py [--sizes 10000 100000 1000000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- BEGIN pipeline -->", "<!-- END pipeline -->"


def measure(reviews: int, workers: int) -> dict:
    """Generate a catalog, run the whole graph once, return timings per step and peak memory."""
    from dagster import DagsterInstance

    from recsys_assets.definitions import build_definitions
    from recsys_assets.sample import generate_catalog, write_catalog
    from recsys_assets.settings import RunOptions

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        path = Path(folder) / "catalog.csv"
        write_catalog(generate_catalog(n_products=max(reviews // 10, 50), n_users=max(reviews // 5, 100), n_reviews=reviews, seed=1), path)
        generate_seconds = time.perf_counter() - started
        options = RunOptions(home=str(Path(folder) / "home"), input_location=str(path), sentiment_workers=workers)
        job = build_definitions(options).resolve_job_def("recsys_job")
        with DagsterInstance.ephemeral() as instance:
            started = time.perf_counter()
            result = job.execute_in_process(instance=instance)
            total = time.perf_counter() - started
            starts, steps = {}, {}
            for event in result.all_events:
                if event.event_type_value == "STEP_START":
                    starts[event.step_key] = event.timestamp
                elif event.event_type_value == "STEP_SUCCESS":
                    steps[event.step_key] = event.timestamp - starts[event.step_key]
        rows = {e.asset_key.to_user_string(): e.materialization.metadata.get("dagster/row_count") for e in result.get_asset_materialization_events()}
    return {
        "reviews": reviews,
        "input_mb": round(path.stat().st_size / 2**20, 1) if path.exists() else None,
        "generate_s": round(generate_seconds, 1),
        "total_s": round(total, 1),
        "steps_s": {k: round(v, 2) for k, v in sorted(steps.items(), key=lambda kv: -kv[1])},
        "rows": {k: (v.value if v is not None else None) for k, v in rows.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def markdown(results: list[dict], workers: int) -> str:
    steps = sorted({s for r in results for s in r["steps_s"]}, key=lambda s: -results[-1]["steps_s"].get(s, 0))
    header = "| step | " + " | ".join(f"{r['reviews']:,} reviews" for r in results) + " |"
    lines = [header, "|---|" + "---:|" * len(results)]
    for step in steps:
        lines.append(f"| {step} | " + " | ".join(f"{r['steps_s'].get(step, 0):.2f} s" for r in results) + " |")
    lines.append("| **whole run** | " + " | ".join(f"**{r['total_s']:.1f} s**" for r in results) + " |")
    lines.append("| peak memory (RSS) | " + " | ".join(f"{r['peak_rss_mb']:,} MB" for r in results) + " |")
    lines.append("| users / products | " + " | ".join(f"{r['rows'].get('users', 0):,} / {r['rows'].get('products', 0):,}" for r in results) + " |")
    lines.append("| generating the input (not in the run) | " + " | ".join(f"{r['generate_s']:.1f} s" for r in results) + " |")
    machine = "2 cores, 24 GiB"
    return f"Measured on {time.strftime('%Y-%m-%d')} ({machine}, sentiment workers = {workers}), one run per size, wall-clock seconds per step (including Parquet I/O and checks).\n\n" + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.workers)))
        return
    results = []
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(size), "--workers", str(args.workers)], check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    text = RESULTS.read_text() if RESULTS.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN)
    RESULTS.write_text(f"{head}{BEGIN}\n{markdown(results, args.workers)}\n{END}{rest.split(END)[1]}")


if __name__ == "__main__":
    main()
