"""Offline evaluation the way Amazon Personalize computes its solution-version metrics.

Split: 90% of users go to training whole; each of the other 10% (drawn, seeded, among users
with at least two interactions) contributes its oldest 90% of interactions as model input and
its newest 10% (at least one) as the truth. The model trains on training + test input and
recommends for the test users.

Relevance: only truth items whose EVENT_VALUE is a positive signal (above the recommender's
``min_positive_value``) are relevant; a newest review that panned the item is not a hit.
Per-user metrics are averaged over test users with at least one relevant truth item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_assets.recommender import (
    RecommenderParams,
    recommend,
    recommend_popular,
    train_recommender,
)

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

    round(test_user_fraction * users) test users are drawn among users with >= 2 interactions
    (all of them if fewer qualify); each keeps floor(holdout_fraction * n), at least 1 and at
    most n - 1, of its newest interactions (by TIMESTAMP, ties by row order) as truth.
    """
    interactions_per_user = interactions["USER_ID"].value_counts().sort_index()
    candidates = interactions_per_user.index[interactions_per_user >= 2].to_numpy(dtype=str)
    n_test = min(len(candidates), round(test_user_fraction * len(interactions_per_user)))
    test_users = np.random.default_rng(seed).choice(candidates, size=n_test, replace=False)
    is_test = interactions["USER_ID"].isin(test_users).to_numpy()

    test = interactions[is_test]
    _, user = np.unique(test["USER_ID"].to_numpy(dtype=str), return_inverse=True)
    oldest_first = np.lexsort((np.arange(len(test)), test["TIMESTAMP"].to_numpy(), user))
    sorted_user = user[oldest_first]
    count = np.bincount(sorted_user)[sorted_user]
    newer = count - 1 - (np.arange(len(test)) - np.searchsorted(sorted_user, sorted_user))
    held_out = np.clip(np.floor(holdout_fraction * count + 1e-9).astype(np.int64), 1, count - 1)
    is_truth = np.empty(len(test), dtype=bool)
    is_truth[oldest_first] = newer < held_out
    return EvaluationSplit(
        train=interactions[~is_test],
        test_input=test[~is_truth],
        test_truth=test[is_truth],
    )


def offline_metrics(recommended: pd.DataFrame, truth: pd.DataFrame, n_items: int) -> dict[str, float]:
    """Personalize's offline metrics of ranked lists against relevant truth items.

    `recommended`: USER_ID, RANK (1 = best), ITEM_ID. `truth`: the relevant (USER_ID, ITEM_ID)
    pairs; users in it are the ones averaged over (a user without recommendations scores 0).
    NDCG@K = sum over hits at rank r <= K of 1/log2(1 + r), divided by the same sum over ranks
    1..min(#truth, K); MRR@25 = 1/rank of the first hit in the top 25 (0 if none);
    precision@K = hits in top K / K; coverage = distinct items in the top 25 lists / n_items.
    Per-user metrics are NaN when `truth` is empty.
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
    return {name: covered / n_items if name == "coverage" else means[name] for name in METRIC_NAMES}


def evaluate(
    interactions: pd.DataFrame,
    items: pd.DataFrame,
    params: RecommenderParams = RecommenderParams(),
    seed: int = 0,
    k: int = 25,
) -> dict[str, dict[str, float]]:
    """Metrics of the ALS model ("model") and of a popularity-count baseline on one split.

    Both recommend `k` unseen items per test user from the test input; the catalog size for
    coverage is the number of items the model knows (catalog plus reviewed items).
    """
    split = personalize_split(interactions, seed=seed)
    model = train_recommender(pd.concat([split.train, split.test_input]), items, params)
    test_users = split.test_truth["USER_ID"].unique()
    relevant = split.test_truth[split.test_truth["EVENT_VALUE"] > params.min_positive_value]
    return {
        name: offline_metrics(recommender(model, split.test_input, test_users, k), relevant, len(model.item_ids))
        for name, recommender in (("model", recommend), ("popularity-count", recommend_popular))
    }
