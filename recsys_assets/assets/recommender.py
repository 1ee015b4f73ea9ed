"""Interactions, the trained recommender ("solution version") and the top-N recommendations."""

import math

import pandas as pd
from dagster import MaterializeResult, MetadataValue, asset

from recsys_assets.assets.metadata import markdown_table, table_metadata
from recsys_assets.interactions import build_interactions
from recsys_assets.recommender import TrainedRecommender
from recsys_assets.resources.profiles import ProfileStore
from recsys_assets.resources.recommender import Recommender
from recsys_assets.resources.settings import PipelineSettings
from recsys_assets.resources.storage import ObjectStore

GROUP = "recommender"
RECOMMENDATIONS_CSV = "recommendations.csv"


def catalog_items(products: pd.DataFrame) -> pd.DataFrame:
    """Products in the recommender's items shape."""
    return pd.DataFrame({"ITEM_ID": products["product_id"], "CATEGORY": products["top_category"]})


@asset(group_name=GROUP)
def interactions(reviews: pd.DataFrame, review_sentiment: pd.DataFrame, products: pd.DataFrame) -> MaterializeResult:
    """One Personalize interaction per review; EVENT_VALUE from sentiment and rating (0 for strongly negative)."""
    table = build_interactions(reviews, review_sentiment, products)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            users=int(table["USER_ID"].nunique()),
            items=int(table["ITEM_ID"].nunique()),
            not_positive_events=int((table["EVENT_VALUE"] == 0).sum()),
            mean_event_value=float(table["EVENT_VALUE"].mean()) if len(table) else 0.0,
        ),
    )


@asset(group_name=GROUP)
def recommender(interactions: pd.DataFrame, products: pd.DataFrame, recommender_model: Recommender) -> MaterializeResult:
    """The trained model (a "solution version") with Personalize's offline metrics on held-out users."""
    items = catalog_items(products)
    metrics = recommender_model.offline_metrics(interactions, items)
    model = recommender_model.train(interactions, items)
    # NaN (no held-out user with a positive truth item) becomes null, so the metadata stays valid JSON
    metrics = {model_name: {k: (None if math.isnan(v) else v) for k, v in values.items()} for model_name, values in metrics.items()}
    comparison = pd.DataFrame(metrics).rename_axis("metric").reset_index()
    return MaterializeResult(
        value=model,
        metadata={
            **{name: float(value) for name, value in metrics["model"].items() if value is not None},
            "compared_with_popularity_count": markdown_table(comparison, rows=len(comparison)),
            "offline_metrics": MetadataValue.json(metrics),
            "trained_users": len(model.user_ids),
            "trained_items": len(model.item_ids),
        },
    )


@asset(group_name=GROUP)
def recommendations(
    recommender: TrainedRecommender,
    interactions: pd.DataFrame,
    users: pd.DataFrame,
    recommender_model: Recommender,
    settings: PipelineSettings,
    storage: ObjectStore,
    profiles: ProfileStore,
) -> MaterializeResult:
    """Top-N products per customer, never one they already reviewed, each with the reason behind it."""
    table = recommender_model.recommend(recommender, interactions, users["user_id"], settings.num_results)
    storage.write_csv(RECOMMENDATIONS_CSV, table[["USER_ID", "RANK", "ITEM_ID", "SCORE"]])
    profiles.replace_table(
        "recommendations",
        table.rename(columns={"USER_ID": "user_id", "RANK": "rank"}),
    )
    sources = table["SOURCE"].value_counts()
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            users=int(table["USER_ID"].nunique()),
            distinct_items=int(table["ITEM_ID"].nunique()),
            from_model_share=float(sources.get("als", 0) / max(len(table), 1)),
            csv=MetadataValue.path(storage.location(RECOMMENDATIONS_CSV)),
        ),
    )
