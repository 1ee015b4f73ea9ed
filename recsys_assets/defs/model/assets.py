"""Interactions, the trained recommender ("solution version") and the top-N recommendations."""

import math
from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from recsys_assets.aws_formats.personalize_datasets import PERSONALIZE_PREFIX, dataset_key, personalize_datasets
from recsys_assets.curation.picks import catalog_facts, curate, with_reason_events
from recsys_assets.curation.variants import variant_families as detect_variant_families
from recsys_assets.defs.automation import RETRAIN_SCHEDULE
from recsys_assets.defs.checks import schema_check_result, schema_check_spec
from recsys_assets.defs.conventions import MODEL
from recsys_assets.defs.metadata import markdown_table, share_table, table_metadata
from recsys_assets.defs.partitions import segments
from recsys_assets.interactions import (
    anonymous_popularity,
    build_interactions,
    combine_interactions,
    event_interactions,
)
from recsys_assets.ml.serving import may_buy_again
from recsys_assets.resources.campaign import CampaignRules
from recsys_assets.resources.interaction_rules import InteractionRulesResource
from recsys_assets.resources.object_store import ObjectStore
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.resources.recommender import Recommender

TRAINED_INTERACTIONS = "trained_interactions"


def catalog_items(products: pd.DataFrame) -> pd.DataFrame:
    """Products in Personalize's items shape: CATEGORY (top level) plus the text the content model reads."""
    return pd.DataFrame(
        {
            "ITEM_ID": products["product_id"],
            "CATEGORY": products["top_category"],
            "CATEGORY_PATH": products["category_path"],
            "NAME": products["product_name"],
            "DESCRIPTION": products["about_product"],
        }
    )


@asset(
    group_name=MODEL, check_specs=[schema_check_spec("interactions")], automation_condition=AutomationCondition.eager()
)
def interactions(
    reviews: pd.DataFrame,
    review_sentiment: pd.DataFrame,
    products: pd.DataFrame,
    events: pd.DataFrame,
    interaction_rules: InteractionRulesResource,
):
    """One Personalize interaction per (customer, product): a review's EVENT_VALUE from sentiment and rating (0 for
    strongly negative), an event's from its type's weight (purchases net of cancellations); the stronger wins."""
    from_reviews = build_interactions(reviews, review_sentiment, products)
    from_events = event_interactions(events, interaction_rules.rules())
    table = combine_interactions(from_reviews, from_events)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            users=int(table["USER_ID"].nunique()),
            items=int(table["ITEM_ID"].nunique()),
            from_reviews=len(from_reviews),
            from_events=len(from_events),
            event_types=share_table(table["EVENT_TYPE"].value_counts(), "event type"),
            not_positive_events=int((table["EVENT_VALUE"] == 0).sum()),
            mean_event_value=float(table["EVENT_VALUE"].mean()) if len(table) else 0.0,
        ),
        check_results=[schema_check_result("interactions", table)],
    )


@asset(group_name=MODEL, automation_condition=AutomationCondition.eager())
def personalize_import_files(
    interactions: pd.DataFrame, products: pd.DataFrame, users: pd.DataFrame, storage: ObjectStore
) -> MaterializeResult:
    """The Personalize import files (interactions, items, users CSVs) under personalize/, from checked tables."""
    datasets = personalize_datasets(interactions, products, users)
    for dataset, frame in datasets.items():
        storage.write_csv(dataset_key(dataset), frame)
    return MaterializeResult(
        metadata={
            "location": MetadataValue.path(storage.location(PERSONALIZE_PREFIX)),
            **{f"{dataset}_rows": len(frame) for dataset, frame in datasets.items()},
        }
    )


@asset(group_name=MODEL, deps=[personalize_import_files], automation_condition=RETRAIN_SCHEDULE)
def recommender_model(interactions: pd.DataFrame, products: pd.DataFrame, recommender: Recommender):
    """The trained model (a "solution version") with Personalize's offline metrics on held-out users.

    Amazon Personalize trains from the import files, hence the dependency on them."""
    items = catalog_items(products)
    metrics = recommender.offline_metrics(interactions, items)
    model = recommender.train(interactions, items)
    # NaN (no held-out user with a positive truth item) becomes null, so the metadata stays valid JSON
    metrics = {
        model_name: {k: (None if math.isnan(v) else v) for k, v in values.items()}
        for model_name, values in metrics.items()
    }
    comparison = pd.DataFrame(metrics).rename_axis("metric").reset_index()
    return MaterializeResult(
        value=model,
        metadata={
            **{name: float(value) for name, value in metrics["model"].items() if value is not None},
            "compared_with_popularity_count": markdown_table(comparison, rows=len(comparison)),
            "offline_metrics": MetadataValue.json(metrics),
            "model_settings": MetadataValue.json(recommender.model_settings(model)),
            TRAINED_INTERACTIONS: len(interactions),
            "trained_users": model.trained_users,
            "trained_items": model.trained_items,
        },
    )


@asset(
    group_name=MODEL,
    check_specs=[schema_check_spec("variant_families")],
    automation_condition=AutomationCondition.eager(),
)
def variant_families(products: pd.DataFrame, reviews: pd.DataFrame):
    """Each product's variant family: the listings of one product in another colour, size or pack (by name or by
    shared reviewers); a product alone is a family of one."""
    table = detect_variant_families(products, reviews)
    shared = table[table["family_size"] > 1]
    names = products.set_index("product_id")["product_name"]
    largest = (
        shared.assign(product_name=shared["product_id"].map(names))
        .sort_values(["family_size", "family_id", "product_id"], ascending=[False, True, True])
        .head(10)
    )
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            families=int(table["family_id"].nunique()),
            multi_listing_families=int(shared["family_id"].nunique()),
            products_in_multi_listing_families=len(shared),
            largest_families=markdown_table(largest[["family_id", "family_size", "product_name"]], rows=10),
        ),
        check_results=[schema_check_result("variant_families", table)],
    )


@asset(
    group_name=MODEL,
    partitions_def=segments,
    check_specs=[schema_check_spec("recommendations")],
    automation_condition=AutomationCondition.eager(),
)
def recommendations(
    context: AssetExecutionContext,
    recommender_model: Any,  # whatever the recommender trained (local or a Personalize solution version)
    interactions: pd.DataFrame,
    customer_segments: pd.DataFrame,
    products: pd.DataFrame,
    events: pd.DataFrame,
    variant_families: pd.DataFrame,
    recommender: Recommender,
    settings: PipelineSettings,
    campaign: CampaignRules,
    interaction_rules: InteractionRulesResource,
):
    """Top-N products per customer of one segment, never one they already reviewed or bought (but a purchase old
    enough to buy again), each with its reason: the recommender's candidates after the campaign's rules, one per
    variant family, capped per category and brand, topped up with popular items (anonymous purchases count)."""
    segment = context.partition_key
    members = customer_segments.loc[customer_segments["segment"] == segment, "user_id"]
    if members.empty:
        context.log.warning(f"segment {segment!r} has no customers any more: its recommendations are cleared")
    rules = interaction_rules.rules()
    candidates = recommender.recommend(
        recommender_model,
        interactions,
        members,
        settings.num_results * campaign.candidates_per_result,
        rules.buy_again_after_days,
    )
    facts = catalog_facts(products, variant_families, interactions, campaign, anonymous_popularity(events, rules))
    history = interactions[~may_buy_again(interactions, rules.buy_again_after_days)]
    curated = curate(candidates, facts, history, campaign, settings.num_results)
    table = with_reason_events(curated.table, interactions)
    sources = table["SOURCE"].value_counts()
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            segment_users=len(members),
            distinct_items=int(table["ITEM_ID"].nunique()),
            from_model_share=float(1 - sources.get("popularity", 0) / max(len(table), 1)),
            candidates=len(candidates),
            raw_top_n_broke=MetadataValue.json(
                {name: count for name, count in curated.report.items() if name not in ("served", "topped_up")}
            ),
            topped_up=curated.report["topped_up"],
            customers_short=curated.report["customers_short"],
        ),
        check_results=[schema_check_result("recommendations", table)],
    )
