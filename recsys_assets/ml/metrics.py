"""Amazon Personalize's offline metrics (see docs/ml.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_assets.ml.topk import best_per_row

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


def offline_metrics(recommended: pd.DataFrame, truth: pd.DataFrame, n_items: int) -> dict[str, float]:
    """Personalize's offline metrics (docs/ml.md) of ranked lists (USER_ID, RANK, ITEM_ID) against the relevant
    (USER_ID, ITEM_ID) pairs of `truth`, averaged over its users; coverage over `n_items`; NaN without truth."""
    recommended = recommended[recommended["RANK"] <= max(CUTOFFS)]
    truth = truth[["USER_ID", "ITEM_ID"]].drop_duplicates()
    truth_users = truth["USER_ID"].unique()
    hits = recommended[["USER_ID", "ITEM_ID", "RANK"]].merge(truth, on=["USER_ID", "ITEM_ID"])
    hit_user = pd.Index(truth_users).get_indexer(hits["USER_ID"])
    hit_rank = hits["RANK"].to_numpy(dtype=np.int64)
    n_users = len(truth_users)
    truth_count = truth["USER_ID"].value_counts().reindex(truth_users).to_numpy()

    first_hit = np.full(n_users, np.inf)
    np.minimum.at(first_hit, hit_user[hit_rank <= MRR_CUTOFF], hit_rank[hit_rank <= MRR_CUTOFF])
    per_user = {"mean_reciprocal_rank_at_25": 1 / first_hit}
    for cutoff in CUTOFFS:
        per_user[f"normalized_discounted_cumulative_gain_at_{cutoff}"] = ndcg(hit_user, hit_rank, truth_count, cutoff)
        within = hit_rank <= cutoff
        per_user[f"precision_at_{cutoff}"] = np.bincount(hit_user[within], minlength=n_users) / cutoff
    covered = recommended.loc[recommended["RANK"] <= COVERAGE_CUTOFF, "ITEM_ID"].nunique()
    means = {name: float(values.mean()) if n_users else float("nan") for name, values in per_user.items()}
    means["coverage"] = covered / n_items if n_users else float("nan")
    return {name: means[name] for name in METRIC_NAMES}


def hidden_ndcg(history: sp.csr_matrix, scores: np.ndarray, hidden: np.ndarray, k: int = 10) -> np.ndarray:
    """Per-row NDCG@k of the `hidden` (boolean rows x items) items when ranking unseen items by `scores`."""
    scores = np.array(scores, dtype=np.float64)
    scores[history.nonzero()] = -np.inf
    top, _ = best_per_row(scores, k)
    hit_row, hit_position = np.nonzero(np.take_along_axis(hidden, top, axis=1))
    return ndcg(hit_row, hit_position + 1, hidden.sum(axis=1), k)


def ndcg(hit_row: np.ndarray, hit_rank: np.ndarray, relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-row NDCG@k: hits at ranks r <= k gain 1/log2(1 + r), over the ideal of min(relevant, k) hits (at least 1)."""
    within = hit_rank <= k
    gain = np.bincount(hit_row[within], weights=1 / np.log2(1 + hit_rank[within]), minlength=len(relevant))
    return gain / np.cumsum(1 / np.log2(2 + np.arange(k)))[np.clip(relevant, 1, k) - 1]
