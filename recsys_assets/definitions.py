"""The Dagster code location: every asset, job, sensor and resource of recsys-assets."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from recsys_assets.defs.ingest import assets as ingest
from recsys_assets.defs.jobs import cleanup_aws
from recsys_assets.defs.marketing import assets as marketing
from recsys_assets.defs.model import assets as recommender
from recsys_assets.defs.sensors import all_sensors
from recsys_assets.defs.sentiment import assets as sentiment
from recsys_assets.environment import RunOptions, build_resources

all_assets = [
    ingest.raw_reviews,
    ingest.products,
    ingest.reviews,
    ingest.users,
    sentiment.file_sentiment,
    sentiment.review_sentiment,
    recommender.interactions,
    recommender.recommender,
    marketing.customer_segments,
    recommender.recommendations,
    marketing.emails,
]

# One job per partitioning: a run reads one input file, rebuilds the catalog and model, or serves one segment.
per_file = AssetSelection.assets(ingest.raw_reviews, sentiment.file_sentiment)
per_segment = AssetSelection.assets(recommender.recommendations, marketing.emails)
ingest_file_job = define_asset_job(
    "ingest_file_job", selection=per_file, description="Read and score one inbox file (a raw_files partition)."
)
catalog_job = define_asset_job(
    "catalog_job",
    selection=AssetSelection.all() - per_file - per_segment,
    description="Products, users, reviews, sentiment, interactions, the model and the segments, from every file read.",
)
segment_job = define_asset_job(
    "segment_job",
    selection=per_segment,
    description="Recommendations and emails of one customer segment (a segments partition).",
)
jobs = [ingest_file_job, catalog_job, segment_job, cleanup_aws]


def build_definitions(options: RunOptions) -> Definitions:
    """Definitions for one environment."""
    return Definitions(assets=all_assets, jobs=jobs, sensors=all_sensors, resources=build_resources(options))


defs = build_definitions(RunOptions.from_environment())
