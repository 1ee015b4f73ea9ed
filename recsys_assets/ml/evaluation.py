"""Offline evaluation under Amazon Personalize's protocol: the user split and the model comparison (see docs/ml.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd

from recsys_assets.ml.als import RecommenderParams, TrainedRecommender
from recsys_assets.ml.base import ModelSpec, RecommenderModel, Scorer
from recsys_assets.ml.encoding import TrainingData, training_data
from recsys_assets.ml.metrics import METRIC_NAMES, offline_metrics
from recsys_assets.ml.popularity import PopularityParams
from recsys_assets.ml.registry import MODELS
from recsys_assets.ml.sequence import newest_share
from recsys_assets.ml.topk import best_per_row

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
    """Split users and test users' histories like Personalize (docs/ml.md); identical rows are kept once."""
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


def item_count(split: EvaluationSplit, known_item_ids: np.ndarray) -> int:
    """Coverage's denominator: the items a model knows plus those only the test users' interactions hold."""
    test_items = np.concatenate(
        [split.test_input["ITEM_ID"].to_numpy(dtype=str), split.test_truth["ITEM_ID"].to_numpy(dtype=str)]
    )
    return len(np.union1d(known_item_ids.astype(str), test_items))


def evaluate(
    interactions: pd.DataFrame,
    items: pd.DataFrame,
    params: RecommenderParams | None = None,
    seed: int = 0,
    k: int = 25,
    train: Callable[[pd.DataFrame, pd.DataFrame], RecommenderModel] | None = None,
    recommend_with: Callable[..., pd.DataFrame] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics of a served model ("model") and of the served popularity baselines on one split.

    The model is ALS with `params` unless `train(interactions, items)` gives another; it trains on the training
    users and serves `k` items per test user through its `recommend` (or `recommend_with(model, interactions,
    users, k)`), as do the popularity models of the same training data."""
    split = personalize_split(interactions, seed=seed)
    model = (train or partial(TrainedRecommender.train, params=params or RecommenderParams()))(split.train, items)
    recommend_with = recommend_with or (lambda served, *request: served.recommend(*request))
    test_users = split.test_truth["USER_ID"].unique()
    minimum = model.params.min_positive_value
    baselines = {
        name: MODELS[name].model.train(
            split.train, items, PopularityParams(**MODELS[name].params, min_positive_value=minimum)
        )
        for name in ("popularity-count", "popularity-unseen")
    }
    recommendations = {
        "model": lambda: recommend_with(model, split.test_input, test_users, k),
        **{name: partial(baseline.recommend, split.test_input, test_users, k) for name, baseline in baselines.items()},
    }
    return scored_recommendations(split, model.item_ids, recommendations, minimum)


def served_metrics(
    interactions: pd.DataFrame,
    items: pd.DataFrame | None,
    curations: dict[str, Callable[[pd.DataFrame, EvaluationSplit], pd.DataFrame]],
    num_results: int,
    candidates: int,
    seed: int = 0,
    train: Callable[[pd.DataFrame, pd.DataFrame | None], RecommenderModel] | None = None,
    reachable: Callable[[EvaluationSplit], pd.DataFrame] | None = None,
) -> dict[str, dict[str, float]]:
    """On one split: the model's own top `num_results` per test user ("model") and, per name of `curations`, its top
    `candidates` through that `curate(candidates_table, split)`, scored like `evaluate`'s lists; with `reachable`,
    each again against only that part of the truth ("model, reachable", "<name>, reachable")."""
    split = personalize_split(interactions, seed=seed)
    model = (train or TrainedRecommender.train)(split.train, items)
    table = model.recommend(split.test_input, split.test_truth["USER_ID"].unique(), candidates)
    lists = {"model": table[table["RANK"] <= num_results], **{name: f(table, split) for name, f in curations.items()}}
    minimum = model.params.min_positive_value
    scored = scored_recommendations(split, model.item_ids, {name: lambda t=t: t for name, t in lists.items()}, minimum)
    if reachable is not None:
        narrowed = replace(split, test_truth=reachable(split))
        scored |= {
            f"{name}, reachable": metrics
            for name, metrics in scored_recommendations(
                narrowed, model.item_ids, {name: lambda t=t: t for name, t in lists.items()}, minimum
            ).items()
        }
    return scored


def scored_recommendations(
    split: EvaluationSplit,
    known_item_ids: np.ndarray,
    recommendations: dict[str, Callable[[], pd.DataFrame]],
    min_positive_value: float = 0.0,
) -> dict[str, dict[str, float]]:
    """Personalize's metrics of each named list of recommendations for the split's test users, against
    their positive truth: the loop `evaluate` (served lists) and `split_metrics` (ranked scores) share."""
    relevant = split.test_truth[split.test_truth["EVENT_VALUE"] > min_positive_value]
    n_items = item_count(split, known_item_ids)
    return {name: offline_metrics(recommend(), relevant, n_items) for name, recommend in recommendations.items()}


def top_k_recommendations(scorer: Scorer, data: TrainingData, rows: np.ndarray, k: int) -> pd.DataFrame:
    """USER_ID, RANK, ITEM_ID of each row's k best unseen items (any if the scorer `recommends_seen`);
    ties and zero scores go to popularity."""
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
        best, values = best_per_row(scores, k)
        n = best.shape[1]
        allowed = np.isfinite(values)
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
    """Each model learns from the training users, recommends from the test input and is scored on the positive truth."""
    data = training_data(pd.concat([split.train, split.test_input]), items, min_positive_value)
    rows = np.searchsorted(data.user_ids, split.test_truth["USER_ID"].unique().astype(str))
    data = replace(data, history_only=rows)
    recommendations = {
        name: partial(lambda fit: top_k_recommendations(fit(data), data, rows, k), fit) for name, fit in fits.items()
    }
    return scored_recommendations(split, data.item_ids, recommendations, min_positive_value)


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
    """Personalize's metrics of each model, averaged over seeded splits, with their spread (docs/ml.md).

    Returns {"models": {name: {metric: mean}}, "protocol": {...}}; models named in `tune` get their best grid point."""
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
