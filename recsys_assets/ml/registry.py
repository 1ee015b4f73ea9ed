"""Every model by name: what the recommender resource, `recsys evaluate` and the benchmarks use."""

from __future__ import annotations

from recsys_assets.ml.als import TrainedRecommender
from recsys_assets.ml.base import ModelSpec
from recsys_assets.ml.ease import fit_ease
from recsys_assets.ml.item_item import TrainedItemItem
from recsys_assets.ml.neighbours import fit_content, fit_item_knn
from recsys_assets.ml.popularity import fit_popularity

DEFAULT_MODEL = "item-item"
MODELS: dict[str, ModelSpec] = {
    "popularity-count": ModelSpec(fit_popularity),
    "popularity-unseen": ModelSpec(fit_popularity, {"recommends_seen": False}),
    "item-knn": ModelSpec(fit_item_knn, {}, tuple({"neighbours": k} for k in (20, 50, 100, 200))),
    "als": ModelSpec.served(
        TrainedRecommender, tuple({"factors": f, "regularization": r} for f in (32, 64) for r in (1.0, 5.0, 20.0))
    ),
    "ease": ModelSpec(fit_ease, {}, tuple({"regularization": r} for r in (10.0, 30.0, 100.0, 300.0, 1000.0))),
    "content": ModelSpec(
        fit_content,
        {},
        tuple({"neighbours": k, "same_leaf_category": leaf} for k in (20, 100) for leaf in (True, False)),
    ),
    DEFAULT_MODEL: ModelSpec.served(
        TrainedItemItem,
        tuple({"content_weight": w, "decay": d} for w in (0.001, 0.003, 0.01, 0.1) for d in (1.0, 2.0)),
    ),
}
