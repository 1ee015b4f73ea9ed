"""Recommendation quality of every model in `recsys_assets.ml.registry`, measured Personalize's way.

Datasets (each skipped when absent from ../shared/data): MovieLens-small, Amazon All Beauty
5-core, the Kaggle amazon.csv (through the project's own parsing, sentiment and interaction
code), UCI Online Retail (order lines, as `recsys evaluate --input` reads them) and the generated sample
(`recsys sample` defaults, and 10 draws of the same generator with seeds 0-9, because one 400-user draw is a
small test population). Baselines are tuned per split on a validation
split of the training users; the default model runs with its fixed defaults. Results go to
benchmarks/RESULTS.md between the `quality` BEGIN/END markers.

`--served` measures instead the default model's served lists of 5 before and after the picks rules
(`recsys_assets.curation`: campaign rules, variant families, diversity caps; docs/picks.md), between the `served`
markers.

    python benchmarks/bench_quality.py [--datasets movielens beauty amazon online-retail sample sample-draws]
        [--json out.json]
    python benchmarks/bench_quality.py --served
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from results import write_section

from recsys_assets.ml.base import ModelSpec
from recsys_assets.ml.encoding import TrainingData
from recsys_assets.ml.evaluation import compare_models
from recsys_assets.ml.registry import DEFAULT_MODEL, MODELS
from recsys_assets.resources.campaign import CampaignRules

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SHOWN = {
    "normalized_discounted_cumulative_gain_at_10": "NDCG@10",
    "normalized_discounted_cumulative_gain_at_25": "NDCG@25",
    "mean_reciprocal_rank_at_25": "MRR@25",
    "precision_at_10": "P@10",
    "coverage": "coverage",
}
# Not a candidate: the generated sample's own tastes, the score of a model that knew every user exactly.
CEILING = "planted tastes (ceiling)"


def movielens() -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Ratings >= 3.5 are positive (EVENT_VALUE = rating / 5), lower ones are seen but 0; genres + title as metadata."""
    folder = SHARED / "movielens-small"
    if not (folder / "ratings.csv").exists():
        return None
    ratings = pd.read_csv(folder / "ratings.csv")
    interactions = pd.DataFrame(
        {
            "USER_ID": ratings["userId"].astype("str"),
            "ITEM_ID": ratings["movieId"].astype("str"),
            "TIMESTAMP": ratings["timestamp"].astype("int64"),
            "EVENT_TYPE": "rating",
            "EVENT_VALUE": (ratings["rating"] / 5).where(ratings["rating"] >= 3.5, 0.0),
        }
    )
    movies = pd.read_csv(folder / "movies.csv")
    items = pd.DataFrame(
        {"ITEM_ID": movies["movieId"].astype("str"), "CATEGORY": movies["genres"], "NAME": movies["title"]}
    )
    return interactions, items


def all_beauty() -> tuple[pd.DataFrame, None] | None:
    """Star ratings: EVENT_VALUE = (stars - 1) / 4, so a one-star review is seen but not positive; no item metadata."""
    path = SHARED / "amazon-all-beauty-5core" / "All_Beauty_5.json.gz"
    if not path.exists():
        return None
    reviews = pd.read_json(path, lines=True)
    interactions = pd.DataFrame(
        {
            "USER_ID": reviews["reviewerID"].astype("str"),
            "ITEM_ID": reviews["asin"].astype("str"),
            "TIMESTAMP": reviews["unixReviewTime"].astype("int64"),
            "EVENT_TYPE": "review",
            "EVENT_VALUE": (reviews["overall"] - 1) / 4,
        }
    )
    return interactions, None


def catalog(path: Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """An amazon.csv-format export through the pipeline's own code: interactions and catalog items."""
    tables = catalog_tables(path)
    return None if tables is None else tables[:2]


def catalog_tables(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame] | None:
    """`catalog`'s interactions and items, and the products and reviews tables they come from."""
    from recsys_assets.catalog.reading import parse_catalog_csv
    from recsys_assets.catalog.tables import build_products, explode_reviews
    from recsys_assets.defs.model.assets import catalog_items
    from recsys_assets.defs.sentiment.assets import review_texts
    from recsys_assets.interactions import build_interactions
    from recsys_assets.sentiment.vader import score_texts

    if not path.exists():
        return None
    raw = parse_catalog_csv(path.read_bytes(), path.name).rows
    products, reviews = build_products(raw), explode_reviews(raw)
    sentiment = pd.concat(
        [reviews[["user_id", "product_id"]].reset_index(drop=True), score_texts(review_texts(reviews).tolist())], axis=1
    )
    return build_interactions(reviews, sentiment, products), catalog_items(products), products, reviews


def online_retail() -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """UCI Online Retail's order lines as `recsys evaluate --input ... --format order-lines` reads them: one
    interaction per (customer, product) bought and not cancelled, and the products as Personalize items."""
    from recsys_assets.cli.evaluate import input_interactions, read_input_file

    path = SHARED / "online-retail" / "online_retail.csv.gz"
    if not path.exists():
        return None
    interactions, items = input_interactions(read_input_file(str(path), "order-lines"), str(path))
    return interactions.rows, items.rows


def generated_sample(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, ModelSpec]]:
    """`recsys sample` defaults (200 products, 400 users, 3,000 reviews); seed 7 is the bundled sample.

    The third element adds the `CEILING` model: ranking by the generator's planted tastes.
    """
    from recsys_assets.sample.generator import planted_tastes

    interactions, items, _, _ = generated_tables(seed)
    return interactions, items, {CEILING: ModelSpec(fit_planted_tastes, {"tastes": planted_tastes(seed=seed)})}


def generated_tables(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """`catalog_tables` of the generated sample with this seed."""
    from recsys_assets.sample.generator import generate_catalog, write_catalog

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sample.csv"
        write_catalog(generate_catalog(seed=seed), path)
        return catalog_tables(path)


@dataclass(frozen=True)
class ChanceScorer:
    """Scores = each user's chance of reviewing each item."""

    chance: np.ndarray

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self.chance[rows]


def fit_planted_tastes(data: TrainingData, tastes: pd.DataFrame) -> ChanceScorer:
    """Learns nothing: ranks each user's unreviewed items by the tastes the generator planted
    (`sample.planted_tastes`)."""
    return ChanceScorer(tastes.reindex(index=data.user_ids, columns=data.item_ids, fill_value=0.0).to_numpy(np.float32))


# Datasets whose default and best baseline are close: also measured on this many splits (the first 5 are the table's).
MORE_SPLITS = {"beauty": 20}
# The "sample-draws" generator seeds: the first ten (the bundled sample is seed 7).
SAMPLE_DRAWS = tuple(range(10))


DATASETS = {
    "movielens": movielens,
    "beauty": all_beauty,
    "amazon": lambda: catalog(SHARED / "amazon-sales" / "amazon.csv"),
    "online-retail": online_retail,
    "sample": generated_sample,
    "sample-draws": lambda: [generated_sample(seed) for seed in SAMPLE_DRAWS],
}
TITLES = {
    "movielens": "MovieLens-small",
    "beauty": "All Beauty 5-core",
    "amazon": "amazon.csv",
    "online-retail": "Online Retail (order lines)",
    "sample": "generated sample",
    "sample-draws": "generated sample, 10 draws (seeds 0-9)",
}


def measure(name: str) -> dict | None:
    """compare_models on one dataset (or each draw), baselines tuned on validation users; None when it is absent."""
    loaded = DATASETS[name]()
    if loaded is None:
        return None
    started = time.perf_counter()
    tuned = [model for model in MODELS if model != DEFAULT_MODEL]

    def compare(
        interactions: pd.DataFrame, items: pd.DataFrame | None, extra: dict[str, ModelSpec] | None = None, seed: int = 0
    ) -> dict:
        return compare_models(interactions, items, models=MODELS | (extra or {}), tune=tuned, seed=seed)

    result = across_draws([compare(*draw) for draw in loaded]) if isinstance(loaded, list) else compare(*loaded)
    if name in MORE_SPLITS:
        more = [result] + [compare(*loaded, seed=seed) for seed in range(5, MORE_SPLITS[name], 5)]
        result["protocol"]["ndcg_at_10_per_more_splits"] = {
            model: [value for run in more for value in run["protocol"]["ndcg_at_10_per_split"][model]]
            for model in result["models"]
        }
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def across_draws(runs: list[dict]) -> dict:
    """compare_models results of several draws as one: each metric's mean over draws, std across draws.

    The protocol is the first draw's, plus "draws" and each draw's NDCG@10 per model.
    """
    names, metrics = list(runs[0]["models"]), list(runs[0]["models"][DEFAULT_MODEL])
    values = {
        name: np.array(
            [[np.nan if run["models"][name][m] is None else run["models"][name][m] for m in metrics] for run in runs]
        )
        for name in names
    }
    ndcg = metrics.index("normalized_discounted_cumulative_gain_at_10")
    return {
        "models": {name: dict(zip(metrics, v.mean(axis=0).tolist())) for name, v in values.items()},
        "protocol": {
            **{key: value for key, value in runs[0]["protocol"].items() if key != "ndcg_at_10_per_split"},
            "draws": len(runs),
            "std": {name: dict(zip(metrics, v.std(axis=0).tolist())) for name, v in values.items()},
            "ndcg_at_10_per_draw": {name: v[:, ndcg].round(4).tolist() for name, v in values.items()},
        },
    }


def markdown(results: dict[str, dict]) -> str:
    """One table per dataset (mean ± std over splits) and the default's NDCG@10 ratios."""
    lines = [
        f"Measured on {time.strftime('%Y-%m-%d')} with `python benchmarks/bench_quality.py`. Protocol: Personalize's "
        "(90% of users train, and models learn from them only; for the other 10%, the oldest 90% of each user's "
        "interactions are the input the model recommends from, the newest 10% the truth, equal TIMESTAMPs ordered by a "
        "hash of the event (user, item, TIMESTAMP, value); only positive truth items are relevant); "
        "5 seeded splits averaged when a split has < 500 test "
        "users, ± is the std across splits. Baselines are tuned per split on a validation split of its training users; "
        f"the default (`{DEFAULT_MODEL}`) runs with its fixed defaults (its EASE lambda, recency half-life and "
        "transition weight are picked inside each fit, on items hidden from training users only: "
        "`ml.tuning.validated_settings`); it is what the `recommender_model` asset trains "
        "(`recsys_assets/ml/item_item.py`). "
        "`popularity-count` is Personalize's recipe: the same most popular items for everyone, reviewed ones "
        "included (the recipe has no filter); every other model, `popularity-unseen` included, never recommends an "
        "item the user already reviewed, so the relevant truth items they had reviewed before (share in each "
        "heading) are out of its reach. Rows identical in every column count as one event (All Beauty's dump repeats "
        '1,103 reviews verbatim; before, one copy could be input and the other the truth it "predicted").',
        "",
    ]
    for name, result in results.items():
        protocol = result["protocol"]
        lines += [
            _heading(TITLES[name], protocol, result["seconds"]),
            "",
            "| model | " + " | ".join(SHOWN.values()) + " |",
            "|---|" + "---:|" * len(SHOWN),
        ]
        for model, metrics in result["models"].items():
            spread = protocol["std"][model]
            cells = [_cell(metrics[m], spread[m]) for m in SHOWN]
            label = f"**{model}** (default)" if model == DEFAULT_MODEL else model
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        if "draws" in protocol:
            lines += ["", _ratios_per_draw(protocol["ndcg_at_10_per_draw"])]
        ndcg = protocol["ndcg_at_10_per_draw"] if "draws" in protocol else protocol["ndcg_at_10_per_split"]
        lines += ["", _paired_difference(ndcg, "draws" if "draws" in protocol else "splits")]
        if "ndcg_at_10_per_more_splits" in protocol:
            more = protocol["ndcg_at_10_per_more_splits"]
            means = ", ".join(f"{model} {np.mean(values):.4f}" for model, values in more.items())
            lines += [
                "",
                f"The same models on {len(more[DEFAULT_MODEL])} splits (seeds 0-{len(more[DEFAULT_MODEL]) - 1}), "
                f"NDCG@10: {means}. {_paired_difference(more, 'splits')}",
            ]
        if CEILING in result["models"]:
            lines += ["", _against_ceiling(result["models"])]
        lines.append("")
    return "\n".join(lines)


def _heading(title: str, protocol: dict, seconds: float) -> str:
    """The table's heading: the data's size and the protocol's, and how long it took."""
    size = f"{protocol['users']:,} users, {protocol['items']:,} items, {protocol['interactions']:,} interactions"
    splits = f"{protocol['splits']} split(s), {protocol['test_users'][0]:,} test users each"
    if "draws" in protocol:
        return f"### {title}: each {size}, {splits}; ± is the std of the {protocol['draws']} draws' means ({seconds} s)"
    return (
        f"### {title}: {size} ({protocol['duplicate_interactions']:,} duplicate rows); {splits}; "
        f"{_mean(protocol['relevant_already_reviewed']):.0%} of the relevant truth already reviewed ({seconds} s)"
    )


def _ratios_per_draw(ndcg: dict[str, list[float]]) -> str:
    """The default's NDCG@10 per draw: as a multiple of popularity-count's, and its margin over the best other model."""
    default = np.array(ndcg[DEFAULT_MODEL])
    ratios = [f"{d / p:.2f}x" if p else "n/a" for d, p in zip(default, ndcg["popularity-count"])]
    margin = default - np.max(list(_others(ndcg).values()), axis=0)
    return (
        f"Default / popularity-count NDCG@10 per draw: {', '.join(ratios)}; of the means: "
        f"{default.mean() / _mean(ndcg['popularity-count']):.2f}x. The default's margin over the best other model "
        f"per draw: {margin.min():+.3f} to {margin.max():+.3f}."
    )


def _others(ndcg: dict[str, list[float | None]]) -> dict[str, np.ndarray]:
    """The figures of the models the default is compared with: every candidate but itself (not the ceiling)."""
    return {
        name: np.array(values, dtype=float) for name, values in ndcg.items() if name not in (DEFAULT_MODEL, CEILING)
    }


def _paired_difference(ndcg: dict[str, list[float | None]], unit: str) -> str:
    """The default's NDCG@10 minus that of the best other model (by mean), paired by split or draw."""
    others = _others(ndcg)
    best = max(others, key=lambda name: np.nanmean(others[name]))
    difference = np.array(ndcg[DEFAULT_MODEL], dtype=float) - others[best]
    if len(difference) < 2:
        return f"Default - best other model ({best}): {difference[0]:+.4f} (one split)."
    standard_error = difference.std(ddof=1) / np.sqrt(len(difference))
    return (
        f"Default - best other model ({best}), paired over the {len(difference)} {unit}: {difference.mean():+.4f} ± "
        f"{standard_error:.4f} (standard error); per {unit[:-1]}: {', '.join(f'{d:+.4f}' for d in difference)}."
    )


def _against_ceiling(models: dict[str, dict]) -> str:
    """How the default and popularity-count compare with the planted-tastes ceiling."""
    ndcg = {name: metrics["normalized_discounted_cumulative_gain_at_10"] for name, metrics in models.items()}
    return (
        f"`{CEILING}` ranks each user's unreviewed items by the chances the generator drew them with "
        f"(`sample.planted_tastes`): a model that knew every user exactly, though nothing of the order of their "
        f"reviews. It scores {ndcg[CEILING]:.4f}, {ndcg[CEILING] / ndcg['popularity-count']:.2f}x popularity-count; "
        f"the default reaches {ndcg[DEFAULT_MODEL] / ndcg[CEILING]:.0%} of it."
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _cell(mean: float | None, std: float | None) -> str:
    return "n/a" if mean is None else f"{mean:.4f} ± {std:.4f}"


# The served lists: as many as an email shows, picked from this many candidates per result (CampaignRules' default).
SERVED = 5
CANDIDATES_PER_RESULT = 4


def _catalog_curation(tables: tuple | None) -> tuple | None:
    """(interactions, items, facts of (training interactions, rules)) of a catalog export: every rule applies."""
    from recsys_assets.curation.picks import catalog_facts
    from recsys_assets.curation.variants import variant_families

    if tables is None:
        return None
    interactions, items, products, reviews = tables
    families = variant_families(products, reviews)
    return interactions, items, lambda train, rules: catalog_facts(products, families, train, rules)


def _movielens_curation() -> tuple | None:
    """MovieLens: no rating, price or brand per film and no variants; the cap applies to the first genre."""
    from recsys_assets.curation.picks import item_facts, positive_counts

    loaded = movielens()
    if loaded is None:
        return None
    interactions, items = loaded
    genre = items["CATEGORY"].str.split("|").str[0].replace("(no genres listed)", "")
    return interactions, items, lambda train, _: item_facts(items["ITEM_ID"], positive_counts(train), category=genre)


def _beauty_curation() -> tuple | None:
    """All Beauty: no item metadata, so only variant families by shared reviewers apply."""
    from recsys_assets.curation.picks import item_facts, positive_counts
    from recsys_assets.curation.variants import variant_families

    loaded = all_beauty()
    if loaded is None:
        return None
    interactions, _ = loaded
    products = pd.DataFrame({"product_id": np.unique(interactions["ITEM_ID"]), "product_name": ""})
    reviews = interactions.rename(columns={"USER_ID": "user_id", "ITEM_ID": "product_id"})
    families = variant_families(products, reviews)
    return (
        interactions,
        None,
        lambda train, _: item_facts(products["product_id"], positive_counts(train), family=families["family_id"]),
    )


SERVED_DATASETS = {
    "movielens": (_movielens_curation, "diversity (first genre, 2 of 5)"),
    "beauty": (_beauty_curation, "variant families by shared reviewers"),
    "amazon": (
        lambda: _catalog_curation(catalog_tables(SHARED / "amazon-sales" / "amazon.csv")),
        "every rule (rating >= 3.5, price, families, 2 per leaf category and brand)",
    ),
    "sample": (lambda: _catalog_curation(generated_tables(7)), "every rule"),
    "sample-draws": (lambda: [_catalog_curation(generated_tables(seed)) for seed in SAMPLE_DRAWS], "every rule"),
}


def measure_served(name: str) -> dict | None:
    """`served_metrics` of the default model, averaged over 5 splits when a split has < 500 test users (and over
    draws); None when the dataset is absent."""
    from recsys_assets.curation.picks import curate
    from recsys_assets.ml.evaluation import SMALL_TEST_SET, SPLITS_WHEN_SMALL, personalize_split, served_metrics

    loaded = SERVED_DATASETS[name][0]()
    if loaded is None:
        return None
    started = time.perf_counter()
    runs = []
    for interactions, items, facts_of in loaded if isinstance(loaded, list) else [loaded]:

        def curated(rules: CampaignRules, facts_of=facts_of):
            return lambda table, split: (
                curate(table, facts_of(split.train, rules), split.test_input, rules, SERVED).table
            )

        def reachable(split, facts_of=facts_of) -> pd.DataFrame:
            """The truth outside the families the user reviewed (another listing of a reviewed product)."""
            family = facts_of(split.train, CURATIONS["served"])["FAMILY"]
            reviewed = pd.MultiIndex.from_arrays(
                [
                    split.test_input["USER_ID"],
                    split.test_input["ITEM_ID"].map(family).fillna(split.test_input["ITEM_ID"]),
                ]
            )
            truth = split.test_truth
            key = pd.MultiIndex.from_arrays([truth["USER_ID"], truth["ITEM_ID"].map(family).fillna(truth["ITEM_ID"])])
            return truth[~key.isin(reviewed)]

        small = personalize_split(interactions).test_truth["USER_ID"].nunique() < SMALL_TEST_SET
        for seed in range(SPLITS_WHEN_SMALL if small else 1):
            runs.append(
                served_metrics(
                    interactions,
                    items,
                    {name: curated(rules) for name, rules in CURATIONS.items()},
                    SERVED,
                    SERVED * CANDIDATES_PER_RESULT,
                    seed=seed,
                    train=MODELS[DEFAULT_MODEL].model.train,
                    reachable=reachable,
                )
            )
    values = {lists: np.array([[run[lists][m] for m in SERVED_SHOWN] for run in runs]) for lists in runs[0]}
    return {
        "runs": len(runs),
        "mean": {lists: dict(zip(SERVED_SHOWN, v.mean(axis=0))) for lists, v in values.items()},
        "std": {lists: dict(zip(SERVED_SHOWN, v.std(axis=0))) for lists, v in values.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }


# The re-ranking alone (one pick per variant family, the category and brand caps) and every default rule.
CURATIONS = {
    "re-ranked": CampaignRules(min_rating=0.0, price_present=False),
    "served": CampaignRules(),
}

SERVED_SHOWN = {
    "normalized_discounted_cumulative_gain_at_5": "NDCG@5",
    "mean_reciprocal_rank_at_25": "MRR",
    "precision_at_5": "P@5",
    "coverage": "coverage",
}


def served_markdown(results: dict[str, dict]) -> str:
    """One row per dataset and list (the model's own top 5, the served 5), and the change."""
    lines = [
        f"Measured on {time.strftime('%Y-%m-%d')} with `python benchmarks/bench_quality.py --served`. The default "
        f"model (`{DEFAULT_MODEL}`) on Personalize's split (as above; 5 seeded splits averaged when a split has < 500 "
        f"test users, the sample's 10 draws each so): *model* is its own top {SERVED} per test user, *served* its top "
        f"{SERVED * CANDIDATES_PER_RESULT} candidates through `curation.picks.curate` with `CampaignRules()`'s "
        "defaults (docs/picks.md), topped up from the popular items that obey the rules; *re-ranked* the same with "
        "the re-ranking alone (one pick per variant family, 2 per leaf category and brand; no minimum rating, no "
        "price rule). MRR is over the 5 served, "
        "coverage the share of items in some list. ± is the std across splits (and draws). *reachable*: the same "
        "lists against only the truth outside the families the user reviewed: the served lists never hold another "
        "listing of a reviewed product, so those truth items are out of their reach (shown where families exist).",
        "",
        "| dataset | rules that apply | list | " + " | ".join(SERVED_SHOWN.values()) + " |",
        "|---|---|---|" + "---:|" * len(SERVED_SHOWN),
    ]
    for name, result in results.items():
        mean, std = result["mean"], result["std"]
        truths = (
            ["", ", reachable"] if "model, reachable" in mean and mean["model"] != mean["model, reachable"] else [""]
        )
        for truth in truths:
            for lists in ("model", *CURATIONS):
                cells = [f"{mean[lists + truth][m]:.4f} ± {std[lists + truth][m]:.4f}" for m in SERVED_SHOWN]
                first = lists == "model" and not truth
                title, rules = (TITLES[name], SERVED_DATASETS[name][1]) if first else ("", "")
                lines.append(f"| {title} | {rules} | {lists}{truth} | " + " | ".join(cells) + " |")
            model = mean["model" + truth]
            for lists in CURATIONS:
                served = mean[lists + truth]
                change = [
                    f"{served[m] - model[m]:+.4f} ({served[m] / model[m] - 1:+.0%})"
                    if model[m]
                    else f"{served[m]:+.4f}"
                    for m in SERVED_SHOWN
                ]
                lines.append(f"| | | change, {lists}{truth} | " + " | ".join(change) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--served", action="store_true", help="the served lists before and after the picks rules")
    args = parser.parse_args()
    if args.served:
        served = {name: result for name in args.datasets if (result := measure_served(name)) is not None}
        print(served_markdown(served), flush=True)
        write_section("served", "Served lists: before and after the picks rules", served_markdown(served))
        return
    results = {}
    for name in args.datasets:
        result = measure(name)
        if result is None:
            print(f"{name}: not available, skipped")
            continue
        results[name] = result
        print(markdown({name: result}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    write_section("quality", "Recommendation quality", markdown(results))


if __name__ == "__main__":
    main()
