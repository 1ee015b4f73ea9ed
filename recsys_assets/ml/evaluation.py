"""Offline evaluation the way Amazon Personalize computes its solution-version metrics.

Split: 90% of users go to training whole; each of the other 10% (drawn, seeded, among users
with at least two interactions) contributes its oldest 90% of interactions as model input and
its newest 10% (at least one) as the truth. Models learn from the training users only and
recommend for each test user from its input, as Personalize does (ALS folds the test users in).

Rows identical in every column are one event recorded twice (public review dumps carry such
copies): they count once, or one copy could be input and the other the truth it "predicts".

Relevance: only truth items whose EVENT_VALUE is a positive signal (above the recommender's
``min_positive_value``) are relevant; a newest review that panned the item is not a hit.
Per-user metrics are averaged over test users with at least one relevant truth item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys_assets.catalog.reading import SOURCE_COLUMNS, concat_rejected, first_faults, read_csv_rows
from recsys_assets.ml.als import (
    RecommenderParams,
    recommend,
    recommend_popular,
    train_recommender,
)
from recsys_assets.ml.models import DEFAULT_MODEL, MODELS, ModelSpec, Scorer, TrainingData, training_data
from recsys_assets.ml.sequence import newest_share

METRIC_NAMES = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
)
CUTOFFS = (5, 10, 25)
MRR_CUTOFF = 25
COVERAGE_CUTOFF = 25
# Below this many test users, metrics are averaged over SPLITS_WHEN_SMALL seeded splits.
SMALL_TEST_SET = 500
SPLITS_WHEN_SMALL = 5
# Test users scored together (bounds the dense rows x items score buffer).
_SCORED_ROWS = 1024


@dataclass(frozen=True)
class EvaluationSplit:
    """Training interactions, test users' older history (model input) and newest truth."""

    train: pd.DataFrame
    test_input: pd.DataFrame
    test_truth: pd.DataFrame


def personalize_split(
    interactions: pd.DataFrame,
    test_user_fraction: float = 0.1,
    holdout_fraction: float = 0.1,
    seed: int = 0,
) -> EvaluationSplit:
    """Split users and test users' histories like Personalize (see module docstring).

    test_user_fraction x users, rounded half up and at least 1, test users are drawn among users
    with >= 2 interactions (all of them if fewer qualify); each keeps floor(holdout_fraction * n),
    at least 1 and at most n - 1, of its newest interactions as truth. Equal TIMESTAMPs are
    ordered by `event_hash`, so the split does not depend on the file's layout. Identical rows
    are kept once.
    """
    interactions = interactions.drop_duplicates()
    interactions_per_user = interactions["USER_ID"].value_counts().sort_index()
    candidates = interactions_per_user.index[interactions_per_user >= 2].to_numpy(dtype=str)
    n_test = min(len(candidates), max(1, int(np.floor(test_user_fraction * len(interactions_per_user) + 0.5))))
    test_users = np.random.default_rng(seed).choice(candidates, size=n_test, replace=False)
    is_test = interactions["USER_ID"].isin(test_users).to_numpy()

    test = interactions[is_test]
    _, user = np.unique(test["USER_ID"].to_numpy(dtype=str), return_inverse=True)
    is_truth = newest_share(user, test["TIMESTAMP"].to_numpy(), event_hash(test), holdout_fraction)
    return EvaluationSplit(
        train=interactions[~is_test],
        test_input=test[~is_truth],
        test_truth=test[is_truth],
    )


def event_hash(interactions: pd.DataFrame) -> np.ndarray:
    """A hash of each event's USER_ID, ITEM_ID, TIMESTAMP (and EVENT_VALUE, when given) as text, integer
    and float: the same whatever the file's row order, column order, extra columns or number types."""
    event = {
        "USER_ID": interactions["USER_ID"].astype(str),
        "ITEM_ID": interactions["ITEM_ID"].astype(str),
        "TIMESTAMP": interactions["TIMESTAMP"].astype("int64"),
    }
    if "EVENT_VALUE" in interactions:
        event["EVENT_VALUE"] = interactions["EVENT_VALUE"].astype("float64")
    return pd.util.hash_pandas_object(pd.DataFrame(event), index=False).to_numpy()


def offline_metrics(recommended: pd.DataFrame, truth: pd.DataFrame, n_items: int) -> dict[str, float]:
    """Personalize's offline metrics of ranked lists against relevant truth items.

    `recommended`: USER_ID, RANK (1 = best), ITEM_ID. `truth`: the relevant (USER_ID, ITEM_ID)
    pairs; users in it are the ones averaged over (a user without recommendations scores 0).
    NDCG@K = sum over hits at rank r <= K of 1/log2(1 + r), divided by the same sum over ranks
    1..min(#truth, K); MRR@25 = 1/rank of the first hit in the top 25 (0 if none);
    precision@K = hits in top K / K; coverage = distinct items in the top 25 lists / n_items
    (every item of the items and interactions data, as Personalize counts). All are NaN when
    `truth` is empty.
    """
    recommended = recommended[recommended["RANK"] <= max(CUTOFFS)]
    truth = truth[["USER_ID", "ITEM_ID"]].drop_duplicates()
    truth_users = truth["USER_ID"].unique()
    hits = recommended[["USER_ID", "ITEM_ID", "RANK"]].merge(truth, on=["USER_ID", "ITEM_ID"])
    hit_user = pd.Index(truth_users).get_indexer(hits["USER_ID"])
    hit_rank = hits["RANK"].to_numpy(dtype=np.int64)
    n_users = len(truth_users)
    truth_count = truth["USER_ID"].value_counts().reindex(truth_users).to_numpy()

    def per_user_sum(weights: np.ndarray, cutoff: int) -> np.ndarray:
        within = hit_rank <= cutoff
        return np.bincount(hit_user[within], weights=weights[within], minlength=n_users)

    gain = 1 / np.log2(1 + hit_rank)
    ideal_prefix = np.cumsum(1 / np.log2(2 + np.arange(max(CUTOFFS))))
    first_hit = np.full(n_users, np.inf)
    np.minimum.at(first_hit, hit_user[hit_rank <= MRR_CUTOFF], hit_rank[hit_rank <= MRR_CUTOFF])
    per_user = {"mean_reciprocal_rank_at_25": 1 / first_hit}
    for cutoff in CUTOFFS:
        ideal = ideal_prefix[np.minimum(truth_count, cutoff) - 1]
        per_user[f"normalized_discounted_cumulative_gain_at_{cutoff}"] = per_user_sum(gain, cutoff) / ideal
        per_user[f"precision_at_{cutoff}"] = per_user_sum(np.ones(len(hit_rank)), cutoff) / cutoff
    covered = recommended.loc[recommended["RANK"] <= COVERAGE_CUTOFF, "ITEM_ID"].nunique()
    means = {name: float(values.mean()) if n_users else float("nan") for name, values in per_user.items()}
    means["coverage"] = covered / n_items if n_users else float("nan")
    return {name: means[name] for name in METRIC_NAMES}


def item_count(split: EvaluationSplit, known_item_ids: np.ndarray) -> int:
    """Coverage's denominator: the items a model knows plus those only the test users' interactions hold."""
    test_items = np.concatenate(
        [split.test_input["ITEM_ID"].to_numpy(dtype=str), split.test_truth["ITEM_ID"].to_numpy(dtype=str)]
    )
    return len(np.union1d(known_item_ids.astype(str), test_items))


def evaluate(
    interactions: pd.DataFrame,
    items: pd.DataFrame,
    params: RecommenderParams = RecommenderParams(),
    seed: int = 0,
    k: int = 25,
    train: Callable[[pd.DataFrame, pd.DataFrame], Any] | None = None,
    recommend_with: Callable[..., pd.DataFrame] = recommend,
) -> dict[str, dict[str, float]]:
    """Metrics of a model ("model") and of the popularity baselines on one split.

    "popularity-count" is Personalize's recipe (the same most popular items for everyone, reviewed
    ones included); "popularity-unseen" skips each user's reviewed items, as the model must.

    The model is ALS with `params` unless `train(interactions, items)` and its
    `recommend_with(model, interactions, users, k)` give another (its `params` must carry
    min_positive_value). The model trains on the training users only; it and the baselines
    recommend `k` unseen items per test user from the test input. Coverage counts every catalog
    and reviewed item (`item_count`).
    """
    split = personalize_split(interactions, seed=seed)
    train = train or partial(train_recommender, params=params)
    model = train(split.train, items)
    test_users = split.test_truth["USER_ID"].unique()
    relevant = split.test_truth[split.test_truth["EVENT_VALUE"] > model.params.min_positive_value]
    n_items = item_count(split, model.item_ids)
    return {
        name: offline_metrics(recommender(model, split.test_input, test_users, k), relevant, n_items)
        for name, recommender in (
            ("model", recommend_with),
            ("popularity-count", recommend_popular),
            ("popularity-unseen", partial(recommend_popular, include_reviewed=False)),
        )
    }


def top_k_recommendations(scorer: Scorer, data: TrainingData, rows: np.ndarray, k: int) -> pd.DataFrame:
    """USER_ID, RANK, ITEM_ID of each row's k best unseen items (any items if the scorer `recommends_seen`).

    Ties and zero scores go to popularity.

    Popularity breaks ties through a term of 1e-4 x the row's largest |score| times the item's
    popularity share, so it orders items the model scores (nearly) alike and nothing else.
    """
    learned_popularity = data.learning_part.popularity
    popularity = learned_popularity / max(int(learned_popularity.max(initial=0)), 1)
    frames = []
    for start in range(0, len(rows), _SCORED_ROWS):
        chunk = rows[start : start + _SCORED_ROWS]
        scores = scorer.scores(chunk).astype(np.float64)
        scale = np.abs(scores).max(axis=1, keepdims=True)
        scores += 1e-4 * np.where(scale > 0, scale, 1.0) * popularity
        if not getattr(scorer, "recommends_seen", False):
            scores[data.seen[chunk].nonzero()] = -np.inf
        n = min(k, scores.shape[1])
        best = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        best = np.take_along_axis(
            best, np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable"), axis=1
        )
        allowed = np.isfinite(np.take_along_axis(scores, best, axis=1))
        frames.append(
            pd.DataFrame(
                {
                    "USER_ID": np.repeat(data.user_ids[chunk], n)[allowed.ravel()],
                    "RANK": np.tile(np.arange(1, n + 1), len(chunk))[allowed.ravel()],
                    "ITEM_ID": data.item_ids[best[allowed]],
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["USER_ID", "RANK", "ITEM_ID"])


def split_metrics(
    split: EvaluationSplit,
    items: pd.DataFrame | None,
    fits: dict[str, Callable[[TrainingData], Scorer]],
    min_positive_value: float = 0.0,
    k: int = 25,
) -> dict[str, dict[str, float]]:
    """Each model learns from the training users; it recommends from the test input and is scored on the positive truth."""
    data = training_data(pd.concat([split.train, split.test_input]), items, min_positive_value)
    rows = np.searchsorted(data.user_ids, split.test_truth["USER_ID"].unique().astype(str))
    data = replace(data, history_only=rows)
    relevant = split.test_truth[split.test_truth["EVENT_VALUE"] > min_positive_value]
    n_items = item_count(split, data.item_ids)
    return {
        name: offline_metrics(top_k_recommendations(fit(data), data, rows, k), relevant, n_items)
        for name, fit in fits.items()
    }


def tuned_params(
    train: pd.DataFrame, items: pd.DataFrame | None, spec: ModelSpec, seed: int, min_positive_value: float = 0.0
) -> dict:
    """The grid point of `spec` with the best NDCG@10 on a validation split of the training users."""
    if not spec.grid:
        return dict(spec.params)
    validation = personalize_split(train, seed=seed)
    candidates = [{**spec.params, **point} for point in spec.grid]
    fits = {str(index): partial(spec.fit, **params) for index, params in enumerate(candidates)}
    results = split_metrics(validation, items, fits, min_positive_value)
    ndcg = [results[str(index)]["normalized_discounted_cumulative_gain_at_10"] for index in range(len(candidates))]
    return candidates[int(np.nanargmax(ndcg))] if not np.all(np.isnan(ndcg)) else dict(spec.params)


def compare_models(
    interactions: pd.DataFrame,
    items: pd.DataFrame | None = None,
    models: dict[str, ModelSpec] | None = None,
    tune: Iterable[str] = (),
    seed: int = 0,
    min_positive_value: float = 0.0,
    small_test_set: int = SMALL_TEST_SET,
) -> dict:
    """Personalize's metrics of each model, averaged over seeded splits, with their spread.

    One split; `SPLITS_WHEN_SMALL` (seeds seed, seed + 1, ...) when it has fewer than
    `small_test_set` test users. Models named in `tune` get the grid point that wins on a
    validation split of each split's training users (never the test users).
    Returns {"models": {name: {metric: mean}}, "protocol": {...}} (spread = std across splits).
    """
    models = models if models is not None else MODELS
    splits = [personalize_split(interactions, seed=seed)]
    if splits[0].test_truth["USER_ID"].nunique() < small_test_set:
        splits += [personalize_split(interactions, seed=seed + n) for n in range(1, SPLITS_WHEN_SMALL)]
    per_split, chosen = [], []
    for index, split in enumerate(splits):
        params = {
            name: tuned_params(split.train, items, spec, seed + index, min_positive_value)
            if name in tune
            else dict(spec.params)
            for name, spec in models.items()
        }
        fits = {name: partial(spec.fit, **params[name]) for name, spec in models.items()}
        per_split.append(split_metrics(split, items, fits, min_positive_value))
        chosen.append(params)
    values = {name: np.array([[run[name][m] for m in METRIC_NAMES] for run in per_split]) for name in models}
    return {
        "models": {name: dict(zip(METRIC_NAMES, _finite(v.mean(axis=0)))) for name, v in values.items()},
        "protocol": {
            "test_user_fraction": 0.1,
            "holdout_fraction": 0.1,
            "seeds": [seed + n for n in range(len(splits))],
            "splits": len(splits),
            "test_users": [int(s.test_truth["USER_ID"].nunique()) for s in splits],
            "relevant_test_users": [
                int(s.test_truth.loc[s.test_truth["EVENT_VALUE"] > min_positive_value, "USER_ID"].nunique())
                for s in splits
            ],
            "relevant_already_reviewed": [round(already_reviewed_share(s, min_positive_value), 4) for s in splits],
            "users": int(interactions["USER_ID"].nunique()),
            "items": int(
                len(
                    np.union1d(
                        interactions["ITEM_ID"].astype(str), [] if items is None else items["ITEM_ID"].astype(str)
                    )
                )
            ),
            "interactions": len(interactions),
            "duplicate_interactions": int(interactions.duplicated().sum()),
            "std": {name: dict(zip(METRIC_NAMES, _finite(v.std(axis=0)))) for name, v in values.items()},
            "ndcg_at_10_per_split": {
                name: _finite(v[:, METRIC_NAMES.index("normalized_discounted_cumulative_gain_at_10")])
                for name, v in values.items()
            },
            "tuned_params": {name: [p[name] for p in chosen] for name in tune if name in models},
        },
    }


def already_reviewed_share(split: EvaluationSplit, min_positive_value: float = 0.0) -> float:
    """Share of relevant truth pairs the user had already reviewed in the input: unreachable for a
    model that never recommends a reviewed item (repeat reviews, e.g. re-bought consumables)."""
    relevant = split.test_truth.loc[
        split.test_truth["EVENT_VALUE"] > min_positive_value, ["USER_ID", "ITEM_ID"]
    ].drop_duplicates()
    reviewed = split.test_input[["USER_ID", "ITEM_ID"]].drop_duplicates()
    return len(relevant.merge(reviewed, on=["USER_ID", "ITEM_ID"])) / len(relevant) if len(relevant) else 0.0


def _finite(values: np.ndarray) -> list[float | None]:
    """Floats, NaN as None (valid JSON)."""
    return [None if np.isnan(v) else round(float(v), 6) for v in values]


@dataclass(frozen=True)
class ReadTable:
    """The valid rows of an input CSV and the quarantined ones (catalog.REJECTED_COLUMNS: file, line, column, reason, raw row)."""

    rows: pd.DataFrame
    rejected: pd.DataFrame


def read_interactions(path: str) -> ReadTable:
    """A Personalize interactions CSV. Rows with an empty USER_ID or ITEM_ID, a TIMESTAMP that is not
    whole epoch seconds or an EVENT_VALUE that is not a finite number are quarantined (so are rows
    with the wrong number of fields); an empty or absent EVENT_VALUE counts 1 (positive)."""

    def parse(table: pd.DataFrame) -> pd.DataFrame:
        return table.assign(TIMESTAMP=_timestamps(table["TIMESTAMP"]), EVENT_VALUE=_event_values(table))

    def faults(table: pd.DataFrame) -> list[tuple[pd.Series, str, str]]:
        return [
            (table["USER_ID"].str.strip() == "", "USER_ID", "USER_ID is empty"),
            (table["ITEM_ID"].str.strip() == "", "ITEM_ID", "ITEM_ID is empty"),
            (table["TIMESTAMP"].isna(), "TIMESTAMP", "TIMESTAMP is not whole epoch seconds"),
            (table["EVENT_VALUE"].isna(), "EVENT_VALUE", "EVENT_VALUE is not a finite number"),
        ]

    valid, rejected = _read_valid_rows(path, ("USER_ID", "ITEM_ID", "TIMESTAMP"), faults, parse)
    return ReadTable(valid.astype({"TIMESTAMP": "int64"}), rejected)


def read_items(path: str) -> ReadTable:
    """A Personalize items CSV: ITEM_ID plus metadata columns (CATEGORY, NAME, DESCRIPTION, ...); rows
    with an empty ITEM_ID or the wrong number of fields are quarantined."""

    def faults(table: pd.DataFrame) -> list[tuple[pd.Series, str, str]]:
        return [(table["ITEM_ID"].str.strip() == "", "ITEM_ID", "ITEM_ID is empty")]

    return ReadTable(*_read_valid_rows(path, ("ITEM_ID",), faults))


def _timestamps(text: pd.Series) -> pd.Series:
    """Whole epoch seconds as float64 (exact below 2**53), NaN where the text is not one."""
    number = pd.to_numeric(text.str.strip(), errors="coerce").astype("float64")
    return number.where(np.isfinite(number) & (number == number.round()) & (number.abs() < 2.0**53))


def _event_values(table: pd.DataFrame) -> pd.Series:
    """EVENT_VALUE as float64: 1 where absent or empty, NaN where it is not a finite number."""
    if "EVENT_VALUE" not in table.columns:
        return pd.Series(1.0, index=table.index)
    number = pd.to_numeric(table["EVENT_VALUE"].str.strip().replace("", "1"), errors="coerce").astype("float64")
    return number.where(np.isfinite(number))


def _read_valid_rows(
    path: str,
    required: tuple[str, ...],
    faults: Callable[[pd.DataFrame], list[tuple[pd.Series, str, str]]],
    parse: Callable[[pd.DataFrame], pd.DataFrame] = lambda table: table,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of a CSV without fault, parsed, and quarantine records (first fault, by line) for the others.

    `parse` converts the text once (NaN where it cannot); `faults` judges the parsed rows, while the
    quarantine keeps the raw ones. A file with no valid row is an error naming its first fault.
    """
    read = read_csv_rows(Path(path).read_bytes(), path, required)
    parsed = parse(read.rows)
    rejected, records = first_faults(read.rows, faults(parsed))
    quarantine = concat_rejected([read.rejected, *records]).sort_values("source_line", kind="stable", ignore_index=True)
    if rejected.all():
        first = quarantine.iloc[0]
        raise ValueError(
            f"{path}: no valid row; line {first['source_line']}, {first['column'] or 'row'}: {first['reason']}"
        )
    return parsed[~rejected].drop(columns=list(SOURCE_COLUMNS)).reset_index(drop=True), quarantine


def evaluation_report(interactions: pd.DataFrame, items: pd.DataFrame | None = None, seed: int = 0) -> dict:
    """`recsys evaluate`'s result: {"default_model", "models": {name: metrics}, "protocol"}."""
    return {"default_model": DEFAULT_MODEL, **compare_models(interactions, items, seed=seed)}


def report_table(report: dict) -> str:
    """The report as a fixed-width table: one row per metric, one column per model (default marked *)."""
    names = list(report["models"])
    header = f"{'metric':<44}" + "".join(
        f"{name + ('*' if name == report['default_model'] else ''):>18}" for name in names
    )
    rows = [
        f"{metric:<44}" + "".join(f"{_formatted(report['models'][name][metric]):>18}" for name in names)
        for metric in METRIC_NAMES
    ]
    protocol = report["protocol"]
    footer = (
        f"* default model. {protocol['splits']} split(s), seeds {protocol['seeds']}, test users {protocol['test_users']}; "
        "spread (std across splits) in --json"
    )
    if protocol["duplicate_interactions"]:
        footer += f"; {protocol['duplicate_interactions']} duplicate rows counted once"
    return "\n".join([header, *rows, footer])


def _formatted(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
