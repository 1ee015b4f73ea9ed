"""Train + recommend time and peak memory of the local models at pipeline scale.

Interactions and catalog items come from a generated catalog (default 1M reviews, 200k users,
100k products) through the pipeline's own parsing, sentiment and interaction code; each model
then trains and recommends 5 items for every user in a child process, so that peak memory is
its own. Results go to benchmarks/RESULTS.md between the `models` BEGIN/END markers.

    python benchmarks/bench_models.py [--reviews 1000000] [--models item-item als]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from memory import peak_rss_mb
from results import write_section

MODELS = ("item-item", "als")


def measure_one(model: str, folder: Path) -> dict:
    """Train `model` on the saved interactions and recommend 5 items per user: seconds and peak memory."""
    from recsys_assets.resources.recommender import LocalRecommender

    interactions = pd.read_parquet(folder / "interactions.parquet")
    items = pd.read_parquet(folder / "items.parquet")
    loaded_gb = peak_rss_mb() / 1024
    recommender = LocalRecommender(model=model)
    started = time.perf_counter()
    trained = recommender.train(interactions, items)
    trained_at = time.perf_counter()
    recommendations = recommender.recommend(trained, interactions, interactions["USER_ID"].drop_duplicates(), 5)
    finished = time.perf_counter()
    return {
        "train_s": round(trained_at - started, 1),
        "recommend_s": round(finished - trained_at, 1),
        "total_s": round(finished - started, 1),
        "peak_gb": round(peak_rss_mb() / 1024, 2),
        "loaded_gb": round(loaded_gb, 2),
        "users": int(recommendations["USER_ID"].nunique()),
        "rows": len(recommendations),
    }


def prepare(reviews: int, folder: Path) -> dict:
    """Generate the catalog, run it through the pipeline's code and save interactions and items."""
    from bench_quality import catalog

    from recsys_assets.sample.generator import generate_catalog, write_catalog

    path = folder / "catalog.csv"
    write_catalog(generate_catalog(n_products=reviews // 10, n_users=reviews // 5, n_reviews=reviews), path)
    interactions, items = catalog(path)
    interactions.to_parquet(folder / "interactions.parquet")
    items.to_parquet(folder / "items.parquet")
    return {"interactions": len(interactions), "users": interactions["USER_ID"].nunique(), "items": len(items)}


def markdown(size: dict, results: dict[str, dict]) -> str:
    lines = [
        f"Measured on {time.strftime('%Y-%m-%d')} with `python benchmarks/bench_models.py` (2 cores): "
        f"{size['interactions']:,} interactions of {size['users']:,} users, {size['items']:,} catalog items "
        "(a generated catalog through the pipeline's own code); each model trains and recommends 5 items for every "
        "user in its own process. Peak memory is the whole process, including the loaded tables.",
        "",
        "| model | train | recommend (every user) | total | peak memory | of which loaded tables |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for model, r in results.items():
        lines.append(
            f"| {model} | {r['train_s']} s | {r['recommend_s']} s | {r['total_s']} s "
            f"| {r['peak_gb']} GB | {r['loaded_gb']} GB |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--one", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, Path(args.folder))))
        return
    with tempfile.TemporaryDirectory() as folder:
        size = prepare(args.reviews, Path(folder))
        results = {}
        for model in args.models:
            child = [sys.executable, __file__, "--one", model, "--folder", folder]
            results[model] = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
            print(model, results[model], flush=True)
    write_section("models", "Local models at pipeline scale", markdown(size, results))


if __name__ == "__main__":
    main()
