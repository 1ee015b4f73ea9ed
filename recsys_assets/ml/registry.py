"""Every model by name: what the recommender resource, `recsys evaluate` and the benchmarks use."""

from __future__ import annotations

from pathlib import Path

from recsys_assets.ml.als import TrainedRecommender
from recsys_assets.ml.base import ModelSpec, RecommenderModel, saved_params
from recsys_assets.ml.ease import TrainedEase
from recsys_assets.ml.item_item import TrainedItemItem
from recsys_assets.ml.neighbours import TrainedContent, TrainedItemKnn
from recsys_assets.ml.popularity import TrainedPopularity

DEFAULT_MODEL = "item-item"
MODELS: dict[str, ModelSpec] = {
    "popularity-count": ModelSpec.served(TrainedPopularity),
    "popularity-unseen": ModelSpec.served(TrainedPopularity, {"recommends_seen": False}),
    "item-knn": ModelSpec.served(TrainedItemKnn, grid=tuple({"neighbours": k} for k in (20, 50, 100, 200))),
    "als": ModelSpec.served(
        TrainedRecommender, grid=tuple({"factors": f, "regularization": r} for f in (32, 64) for r in (1.0, 5.0, 20.0))
    ),
    "ease": ModelSpec.served(
        TrainedEase, grid=tuple({"regularization": r} for r in (10.0, 30.0, 100.0, 300.0, 1000.0))
    ),
    "content": ModelSpec.served(
        TrainedContent,
        grid=tuple({"neighbours": k, "same_leaf_category": leaf} for k in (20, 100) for leaf in (True, False)),
    ),
    DEFAULT_MODEL: ModelSpec.served(
        TrainedItemItem,
        grid=tuple({"content_weight": w, "decay": d} for w in (0.001, 0.003, 0.01, 0.1) for d in (1.0, 2.0)),
    ),
}

# Each served class by the name its `save` writes (ALS models saved before names were written have none).
_CLASSES: dict[str, type[RecommenderModel]] = {spec.model.name: spec.model for spec in MODELS.values()}


def load_model(directory: Path) -> RecommenderModel:
    """The model `RecommenderModel.save` wrote into `directory`, read by its own class."""
    return _CLASSES[saved_params(directory).get("model", TrainedRecommender.name)].load(directory)
