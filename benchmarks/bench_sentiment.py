"""Sentiment quality and speed (plain VADER vs the review lexicon) and sentiment-aware interactions.

Quality: binary accuracy and macro-F1 on the UCI "amazon_cells" sentences and on the All Beauty 5-core
reviews (4-5 stars positive, 1-2 negative; 3 stars reported separately). Speed: reviews per second on one
core, best of several interleaved runs on the same texts. Interactions: on All Beauty, EVENT_VALUE from
stars, from sentiment, from the blend, or 1, compared with the recommender's offline metrics over seeded
splits. Absent datasets are skipped. Results go to benchmarks/RESULTS.md between the sentiment markers.

    python benchmarks/bench_sentiment.py [--data ../shared/data] [--seeds 20] [--repeats 7]
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from results import write_section
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from recsys_assets.defs.sentiment.assets import review_texts
from recsys_assets.interactions import EventValueRule, event_values
from recsys_assets.ml.evaluation import EvaluationSplit, item_count, personalize_split
from recsys_assets.ml.metrics import offline_metrics
from recsys_assets.ml.popularity import recommend_popular
from recsys_assets.resources.recommender import LocalRecommender
from recsys_assets.sentiment.vader import DEFAULT_LEXICON, LABELS, LEXICONS, score_texts

CELLS = Path("sentiment-labelled-sentences/amazon_cells_labelled.txt")
BEAUTY = Path("amazon-all-beauty-5core/All_Beauty_5.json.gz")
VERBATIM = ["reviewerID", "asin", "unixReviewTime", "overall", "summary", "reviewText"]
UNDECIDED = "UNDECIDED"
UNWEIGHTED = "unweighted (1)"
PIPELINE_RULE = "blend 0.6 x sentiment + 0.4 x product rating"  # EventValueRule() as the pipeline applies it
REPORTED_METRICS = (
    "normalized_discounted_cumulative_gain_at_10",
    "mean_reciprocal_rank_at_25",
    "precision_at_10",
    "coverage",
)


def binary_labels(scores: pd.DataFrame) -> np.ndarray:
    """POSITIVE / NEGATIVE per row; NEUTRAL and MIXED go to the larger of Positive and Negative, ties UNDECIDED."""
    positive, negative = scores["Positive"].to_numpy(), scores["Negative"].to_numpy()
    by_scores = np.select([positive > negative, negative > positive], ["POSITIVE", "NEGATIVE"], UNDECIDED)
    label = scores["Sentiment"].to_numpy(dtype=str)
    return np.where(np.isin(label, ["POSITIVE", "NEGATIVE"]), label, by_scores)


def binary_quality(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1 over POSITIVE/NEGATIVE, and each class's F1; an UNDECIDED prediction is always wrong."""
    f1 = {}
    for label in ("POSITIVE", "NEGATIVE"):
        hits = np.sum((predicted == label) & (truth == label))
        precision = hits / max(np.sum(predicted == label), 1)
        recall = hits / max(np.sum(truth == label), 1)
        f1[label] = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {
        "n": len(truth),
        "accuracy": float(np.mean(predicted == truth)),
        "macro_f1": float(np.mean(list(f1.values()))),
        "f1_negative": float(f1["NEGATIVE"]),
        "f1_positive": float(f1["POSITIVE"]),
        "undecided": float(np.mean(predicted == UNDECIDED)),
    }


def load_cells(path: Path) -> tuple[list[str], np.ndarray]:
    """Sentences and POSITIVE/NEGATIVE truth (each line: sentence, tab, 1 or 0)."""
    sentence, label = zip(*(line.rsplit("\t", 1) for line in path.read_text(encoding="utf-8").splitlines()))
    return list(sentence), np.where(np.asarray(label, dtype=int) == 1, "POSITIVE", "NEGATIVE")


def load_beauty(path: Path) -> pd.DataFrame:
    """All Beauty reviews with the pipeline's text (title + content) and the review-only text.

    The dump repeats 1,103 reviews verbatim (same reviewer, product, day, stars and text): kept once.
    """
    reviews = pd.read_json(path, lines=True).drop_duplicates(VERBATIM).reset_index(drop=True)
    reviews["text"] = review_texts(reviews.rename(columns={"summary": "review_title", "reviewText": "review_content"}))
    reviews["content"] = reviews["reviewText"].fillna("")
    return reviews


def stars_truth(stars: pd.Series) -> np.ndarray:
    """4-5 stars POSITIVE, 1-2 NEGATIVE, 3 empty."""
    return np.select([stars >= 4, stars <= 2], ["POSITIVE", "NEGATIVE"], "")


def quality_rows(datasets: dict[str, tuple[list[str], np.ndarray]]) -> list[dict]:
    """binary_quality of each lexicon on each dataset."""
    return [
        {
            "dataset": name,
            "lexicon": lexicon,
            **binary_quality(truth, binary_labels(score_texts(texts, lexicon=lexicon))),
        }
        for name, (texts, truth) in datasets.items()
        for lexicon in LEXICONS
    ]


def label_mix(texts: list[str]) -> dict[str, dict[str, float]]:
    """Share of each Comprehend label per lexicon."""
    return {
        lexicon: score_texts(texts, lexicon=lexicon)["Sentiment"]
        .value_counts(normalize=True)
        .reindex(list(LABELS), fill_value=0.0)
        .to_dict()
        for lexicon in LEXICONS
    }


PLAIN_VADER = "vaderSentiment polarity_scores (plain VADER)"


def reviews_per_second(texts: list[str], repeats: int) -> dict[str, dict[str, float]]:
    """Best and median texts per CPU second of each lexicon, and of the vaderSentiment package itself,
    on one core, runs interleaved (same machine load)."""
    plain = SentimentIntensityAnalyzer().polarity_scores
    runners = {PLAIN_VADER: lambda: [plain(text) for text in texts]}
    runners |= {lexicon: partial(score_texts, texts, workers=1, lexicon=lexicon) for lexicon in LEXICONS}
    seconds = {name: [] for name in runners}
    for lexicon in LEXICONS:
        score_texts(texts[:50], lexicon=lexicon)  # load the lexicon outside the timing
    for _ in range(repeats):
        for name, run in runners.items():
            started = time.process_time()
            run()
            seconds[name].append(time.process_time() - started)
    return {
        lexicon: {"best": len(texts) / min(runs), "median": len(texts) / float(np.median(runs))}
        for lexicon, runs in seconds.items()
    }


def weightings(reviews: pd.DataFrame, lexicon: str) -> dict[str, np.ndarray]:
    """EVENT_VALUE per review under each candidate rule."""
    sentiment = score_texts(reviews["text"].tolist(), lexicon=lexicon)
    stars = reviews["overall"].astype(float)
    product_rating = stars.groupby(reviews["asin"]).transform("mean")
    return {
        UNWEIGHTED: np.ones(len(reviews)),
        "stars (rating - 1) / 4": ((stars - 1) / 4).to_numpy(),
        "sentiment only": event_values(stars, sentiment, EventValueRule(sentiment_weight=1.0)),
        "blend 0.6 x sentiment + 0.4 x review stars": event_values(stars, sentiment, EventValueRule()),
        PIPELINE_RULE: event_values(product_rating, sentiment, EventValueRule()),
    }


def interaction_rows(reviews: pd.DataFrame, seeds: int, lexicon: str) -> tuple[list[dict], dict]:
    """Per rule and seed: metrics with a fixed truth (newest reviews rated 4-5 stars) on the test split
    and on a validation split of its training users, and the harness's own metrics."""
    base = pd.DataFrame(
        {
            "USER_ID": reviews["reviewerID"].astype(str),
            "ITEM_ID": reviews["asin"].astype(str),
            "TIMESTAMP": reviews["unixReviewTime"].astype("int64"),
            "EVENT_TYPE": "review",
        }
    )
    liked = reviews["overall"].to_numpy() >= 4
    items = pd.DataFrame({"ITEM_ID": base["ITEM_ID"].unique(), "CATEGORY": "All Beauty"})
    recommender = LocalRecommender()

    def fixed_truth(split: EvaluationSplit, values: np.ndarray) -> tuple[dict, pd.DataFrame, pd.DataFrame, object]:
        """The default model on `split` (of `base`) with these EVENT_VALUEs, against the 4-5-star truth."""
        split = EvaluationSplit(
            *(
                frame.assign(EVENT_VALUE=values[frame.index])
                for frame in (split.train, split.test_input, split.test_truth)
            )
        )
        model = recommender.train(split.train, items)
        test_users = pd.Series(split.test_truth["USER_ID"].unique())
        relevant = split.test_truth[liked[split.test_truth.index]]
        recommended = recommender.recommend(model, split.test_input, test_users, 25)
        return offline_metrics(recommended, relevant, item_count(split, model.item_ids)), relevant, test_users, model

    # Split without EVENT_VALUE, so every rule sees the same users and histories (splitting each rule's
    # interactions would count rows that differ only in EVENT_VALUE as different events under some rules).
    splits = [personalize_split(base, seed=seed) for seed in range(seeds)]
    validations = [personalize_split(split.train, seed=seeds + seed) for seed, split in enumerate(splits)]
    rows, popular = [], []
    rules = weightings(reviews, lexicon)
    for rule, values in rules.items():
        interactions = base.assign(EVENT_VALUE=values)
        for seed, (split, validation_split) in enumerate(zip(splits, validations)):
            fixed, relevant, test_users, model = fixed_truth(split, values)
            validation = fixed_truth(validation_split, values)[0]
            own = LocalRecommender(evaluation_seed=seed).offline_metrics(interactions, items)["model"]
            rows.append(
                {"rule": rule, "seed": seed}
                | {f"fixed:{k}": v for k, v in fixed.items()}
                | {f"validation:{k}": v for k, v in validation.items()}
                | {f"own:{k}": v for k, v in own.items()}
            )
            if rule == UNWEIGHTED:
                unseen = recommend_popular(
                    model, split.test_input.assign(EVENT_VALUE=1.0), test_users, 25, include_reviewed=False
                )
                popular.append(offline_metrics(unseen, relevant, item_count(split, model.item_ids)))
    protocol = {
        "test_users": len(test_users),
        "zeroed_by_pipeline_rule": int((rules[PIPELINE_RULE] == 0).sum()),
        "reviews": len(reviews),
        "popularity": {name: float(np.mean([p[name] for p in popular])) for name in REPORTED_METRICS},
    }
    return rows, protocol


def markdown(
    quality: list[dict],
    mixes: dict,
    speed: dict,
    interactions: tuple[list[dict], dict] | None,
    seeds: int,
    n_speed: int,
) -> str:
    """The RESULTS.md section."""
    lines = [
        f"Measured on {time.strftime('%Y-%m-%d')} with `python benchmarks/bench_sentiment.py`. "
        "`vader` is vaderSentiment 3.3.2's polarity_scores exactly; "
        "`review` adds `recsys_assets/sentiment/review_lexicon.py` (product-review words and "
        "phrases written from general knowledge, never from these texts). Binary scoring: the label if POSITIVE or "
        "NEGATIVE, else the larger of the Positive and Negative scores; a tie (e.g. no sentiment word) is UNDECIDED "
        "and counts as wrong. Macro-F1 is the mean of the POSITIVE and NEGATIVE F1.",
        "",
        "### Quality",
        "",
        "| dataset | lexicon | texts | accuracy | macro-F1 | F1 negative | F1 positive | undecided |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['dataset']} | {r['lexicon']} | {r['n']:,} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | "
        f"{r['f1_negative']:.3f} | {r['f1_positive']:.3f} | {r['undecided']:.1%} |"
        for r in quality
    ]
    for name, mix in mixes.items():
        lines += [
            "",
            f"{name}: label mix "
            + "; ".join(
                f"`{lexicon}` " + ", ".join(f"{label} {share:.0%}" for label, share in shares.items())
                for lexicon, shares in mix.items()
            ),
        ]
    if speed:
        lines += [
            "",
            "### Speed (one core, same texts)",
            "",
            f"{n_speed:,} texts (All Beauty title + review, then the amazon_cells sentences), `score_texts(workers=1)` "
            "including the Comprehend mapping, against the vaderSentiment package's own `polarity_scores` "
            "(VADER scores only); runs interleaved.",
            "",
            "| lexicon | texts/s (best) | texts/s (median) |",
            "|---|---:|---:|",
        ]
        lines += [f"| {lexicon} | {s['best']:,.0f} | {s['median']:,.0f} |" for lexicon, s in speed.items()]
    if interactions:
        rows, protocol = interactions
        table = pd.DataFrame(rows)
        ndcg = "normalized_discounted_cumulative_gain_at_10"
        by_rule = table.drop(columns="seed").groupby("rule", sort=False)
        mean, spread = by_rule.mean(), by_rule.std()
        reference = table[table["rule"] == PIPELINE_RULE].set_index("seed")
        lines += [
            "",
            "### Sentiment-aware interactions (All Beauty, the default item-item recommender)",
            "",
            f"Mean over {seeds} seeded Personalize splits ({protocol['test_users']} test users each), ± std across "
            "splits. *fixed truth*: a test user's newest reviews that gave 4-5 stars are relevant, the same for "
            "every rule; *validation*: the same on a validation split of each split's training users (where a rule "
            "would be chosen); *vs pipeline rule*: mean ± standard error of the per-split difference to the "
            "pipeline's rule (`EventValueRule()` on the product rating), test / validation; *harness*: "
            "`evaluate()` as is (relevant = truth EVENT_VALUE > 0 under that rule, so its truth differs per rule). "
            "The item-item model learns from which reviews are positive (EVENT_VALUE > 0), not from how positive, so "
            "rules that zero the same reviews score the same; "
            f"the pipeline's rule zeroes {protocol['zeroed_by_pipeline_rule']:,} "
            f"of the {protocol['reviews']:,} reviews. "
            "Popularity-unseen (most popular items the user has not reviewed) on the fixed truth: "
            + ", ".join(f"{_short_metric(name)} {value:.4f}" for name, value in protocol["popularity"].items())
            + ".",
            "",
            "| EVENT_VALUE rule | NDCG@10 fixed truth | MRR@25 fixed | coverage | NDCG@10 validation "
            "| vs pipeline rule (test / validation) | NDCG@10 harness |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]

        def cell(rule: str, column: str) -> str:
            return f"{mean.loc[rule, column]:.4f} ± {spread.loc[rule, column]:.4f}"

        for rule in mean.index:
            versus = [
                _paired(table[table["rule"] == rule].set_index("seed")[f"{kind}:{ndcg}"] - reference[f"{kind}:{ndcg}"])
                for kind in ("fixed", "validation")
            ]
            lines.append(
                f"| {rule} | {cell(rule, f'fixed:{ndcg}')} | {cell(rule, 'fixed:mean_reciprocal_rank_at_25')} | "
                f"{mean.loc[rule, 'fixed:coverage']:.3f} | {cell(rule, f'validation:{ndcg}')} | {' / '.join(versus)} | "
                f"{cell(rule, f'own:{ndcg}')} |"
            )
    return "\n".join(lines)


def _short_metric(name: str) -> str:
    """'normalized_discounted_cumulative_gain_at_10' -> 'NDCG_at_10' (and MRR), as the table names them."""
    return name.replace("normalized_discounted_cumulative_gain", "NDCG").replace("mean_reciprocal_rank", "MRR")


def _paired(differences: pd.Series) -> str:
    """Mean ± standard error of per-split differences."""
    return f"{differences.mean():+.4f} ± {differences.std() / np.sqrt(len(differences)):.4f}"


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    arguments.add_argument("--seeds", type=int, default=20)
    arguments.add_argument("--repeats", type=int, default=7)
    args = arguments.parse_args()

    datasets, mixes, speed_texts = {}, {}, []
    beauty = load_beauty(args.data / BEAUTY) if (args.data / BEAUTY).exists() else None
    if beauty is not None:
        rated = beauty[beauty["overall"] != 3]
        datasets["All Beauty, title + review (1-2 vs 4-5 stars)"] = (
            rated["text"].tolist(),
            stars_truth(rated["overall"]),
        )
        datasets["All Beauty, review only (1-2 vs 4-5 stars)"] = (
            rated["content"].tolist(),
            stars_truth(rated["overall"]),
        )
        mixes["All Beauty 3-star reviews (title + review)"] = label_mix(
            beauty.loc[beauty["overall"] == 3, "text"].tolist()
        )
        speed_texts += beauty["text"].tolist()
    if (args.data / CELLS).exists():
        datasets["amazon_cells sentences"] = load_cells(args.data / CELLS)
        speed_texts += datasets["amazon_cells sentences"][0]
    quality = quality_rows(datasets)
    speed = reviews_per_second(speed_texts, args.repeats) if speed_texts else {}
    interactions = interaction_rows(beauty, args.seeds, lexicon=DEFAULT_LEXICON) if beauty is not None else None
    section = markdown(quality, mixes, speed, interactions, args.seeds, len(speed_texts))
    write_section("sentiment", "Sentiment", section)
    print(section)


if __name__ == "__main__":
    main()
