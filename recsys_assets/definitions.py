"""The Dagster code location: every asset, check, job and resource of recsys-assets."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from recsys_assets.assets import emails, ingest, recommender, sentiment
from recsys_assets.assets.checks import schema_checks
from recsys_assets.settings import RunOptions, build_resources

all_assets = [
    ingest.raw_reviews,
    ingest.products,
    ingest.reviews,
    ingest.users,
    sentiment.review_sentiment,
    recommender.interactions,
    recommender.recommender,
    recommender.recommendations,
    emails.emails,
]

recsys_job = define_asset_job(
    "recsys_job",
    selection=AssetSelection.all(),
    description="Everything: raw reviews to emails.",
)


def build_definitions(options: RunOptions) -> Definitions:
    """Definitions for one environment."""
    return Definitions(
        assets=all_assets,
        asset_checks=schema_checks,
        jobs=[recsys_job],
        resources=build_resources(options),
    )


defs = build_definitions(RunOptions.from_environment())
