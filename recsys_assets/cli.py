"""`recsys`: run the asset graph without the UI, and make sample catalogs."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from dagster import DagsterInstance

from recsys_assets.definitions import build_definitions
from recsys_assets.settings import DEFAULT_HOME, DEFAULT_INPUT, RunOptions

SUMMARY_FILE = "run_summary.json"
ERROR_CLASS_PREFIX = re.compile(r"^[\w.]+(Error|Exception|Failure): ")
COUNTED_ASSETS = {
    "products": "products",
    "users": "users",
    "reviews": "reviews",
    "interactions": "interactions",
    "quarantined_rows": "rejected_rows",
    "recommendations": "recommendations",
}


def run_pipeline(options: RunOptions, verbose: bool = False) -> dict:
    """Materialize every asset in-process; returns the run summary (also written to <home>/run_summary.json)."""
    started = time.perf_counter()
    job = build_definitions(options).resolve_job_def("recsys_job")
    with DagsterInstance.ephemeral() as instance:
        quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=None if verbose else quiet)
        if not result.success:
            raise PipelineError(_failure_message(result))
        metadata = {
            event.asset_key.to_user_string(): {k: v.value for k, v in event.materialization.metadata.items()}
            for event in result.get_asset_materialization_events()
        }
        checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    home = Path(options.home)
    summary = {
        "input": options.input_location,
        "counts": {name: int(metadata[asset]["dagster/row_count"]) for name, asset in COUNTED_ASSETS.items()},
        "emails_written": int(metadata["emails"]["emails_written"]),
        "emails_failed": int(metadata["emails"]["emails_failed"]),
        "checks_passed": sum(1 for c in checks if c.passed),
        "checks_failed": sorted(c.asset_check_key.to_user_string() for c in checks if not c.passed),
        "offline_metrics": metadata["recommender"]["offline_metrics"],
        "outputs": {
            "recommendations_csv": str((home / "recommendations.csv").resolve()),
            "emails": str((home / "emails").resolve()),
            "profiles": str((home / "profiles.sqlite").resolve()),
            "asset_tables": str((home / "assets").resolve()),
        },
        "seconds": round(time.perf_counter() - started, 2),
    }
    home.mkdir(parents=True, exist_ok=True)
    (home / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


class PipelineError(RuntimeError):
    """The run failed; the message says which step and why."""


def _failure_message(result) -> str:
    """The first step failure, as the user-facing error (without the Dagster stack trace)."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error.cause is not None and error.cls_name in ("DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"):
                error = error.cause
            return f"{event.step_key} failed: {ERROR_CLASS_PREFIX.sub('', error.message.strip())}"
    return "the run failed"


def format_summary(summary: dict) -> str:
    """A short, human-readable summary of a run."""
    counts = summary["counts"]
    metrics = summary["offline_metrics"]
    lines = [
        f"recsys run: {summary['input']} in {summary['seconds']:.1f} s",
        "  " + ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in counts.items()),
        f"  {summary['emails_written']:,} emails written, {summary['emails_failed']:,} failed; "
        f"{summary['checks_passed']} checks passed" + (f", FAILED: {', '.join(summary['checks_failed'])}" if summary["checks_failed"] else ""),
        "  offline metrics (held-out users)      model   popularity-count",
    ]
    for name, value in metrics["model"].items():
        baseline = metrics["popularity-count"][name]
        lines.append(f"    {name:<44} {_number(value)}   {_number(baseline)}")
    lines.append("  outputs:")
    lines += [f"    {name:<20} {path}" for name, path in summary["outputs"].items()]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "    n/a" if value is None else f"{value:7.4f}"


def _run(args: argparse.Namespace) -> int:
    options = RunOptions(home=args.home, input_location=args.input, num_results=args.num_results, sentiment_workers=args.workers)
    try:
        summary = run_pipeline(options, verbose=args.verbose)
    except PipelineError as error:
        print(f"recsys run failed: {error}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    return 0


def _sample(args: argparse.Namespace) -> int:
    from recsys_assets.sample import generate_catalog, write_catalog

    catalog = generate_catalog(n_products=args.products, n_users=args.users, n_reviews=args.reviews, seed=args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_catalog(catalog, args.out)
    print(f"wrote {args.out}: {len(catalog):,} products, {args.users:,} users, {args.reviews:,} reviews")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="recsys", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="materialize every asset and print a summary")
    run.add_argument("--input", default=DEFAULT_INPUT, help="catalog CSV, or a folder of them")
    run.add_argument("--home", default=DEFAULT_HOME, help="folder for every output")
    run.add_argument("--num-results", type=int, default=5, help="recommendations per customer")
    run.add_argument("--workers", type=int, default=0, help="sentiment processes (0: one per core, for large inputs)")
    run.add_argument("--verbose", action="store_true", help="show Dagster's event log")
    run.set_defaults(handler=_run)
    sample = commands.add_parser("sample", help="write a synthetic catalog in the amazon.csv format")
    sample.add_argument("--out", required=True)
    sample.add_argument("--products", type=int, default=200)
    sample.add_argument("--users", type=int, default=400)
    sample.add_argument("--reviews", type=int, default=3000)
    sample.add_argument("--seed", type=int, default=7)
    sample.set_defaults(handler=_sample)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
