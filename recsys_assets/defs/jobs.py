"""Jobs: one asset job per partitioning (a file, the catalog, a segment), and the AWS cleanup op job."""

import logging

from dagster import AssetSelection, OpExecutionContext, define_asset_job, job, op

from recsys_assets.aws_formats.personalize_datasets import PERSONALIZE_PREFIX
from recsys_assets.defs.ingest.sensors import FILE_ASSETS
from recsys_assets.resources.dynamodb import DynamoDBProfileStore
from recsys_assets.resources.object_store import ObjectStore
from recsys_assets.resources.personalize import PersonalizeRecommender
from recsys_assets.resources.profile_store import ProfileStore
from recsys_assets.resources.recommender import Recommender
from recsys_assets.resources.s3 import S3ObjectStore

# What the pipeline writes in the object store: asset tables, emails and their manifests, recommendation CSVs,
# Personalize import and batch files, Comprehend job files (inputs in the inbox are left alone).
CREATED_PREFIXES = ("assets/", "emails/", "email_inputs/", "recommendations/", PERSONALIZE_PREFIX, "comprehend/")


# One job per partitioning: a run reads one input file, rebuilds the catalog and model, or serves one segment;
# the combined export follows the segments.
PER_FILE = AssetSelection.assets(*FILE_ASSETS)
PER_SEGMENT = AssetSelection.assets(
    "recommendations", "emails", "served_recommendations", "segment_recommendations_csv"
)
EXPORT = AssetSelection.assets("recommendations_export", "run_summary")
# Sending is never part of a run: its own jobs, started by `recsys send` or by hand, and no automation
SEND = AssetSelection.assets("email_deliveries")
NOTIFICATIONS = AssetSelection.assets("delivery_notifications")
RESULTS = AssetSelection.assets("campaign_results")
ingest_file_job = define_asset_job(
    "ingest_file_job", selection=PER_FILE, description="Read and score one inbox file (a raw_files partition)."
)
catalog_job = define_asset_job(
    "catalog_job",
    selection=AssetSelection.all() - PER_FILE - PER_SEGMENT - EXPORT - SEND - NOTIFICATIONS - RESULTS,
    description="Products, users, reviews, sentiment, interactions, the model and the segments, from every file read.",
)
segment_job = define_asset_job(
    "segment_job",
    selection=PER_SEGMENT,
    description="Recommendations and emails of one customer segment (a segments partition), and where they are served.",
)
export_job = define_asset_job(
    "export_job",
    selection=EXPORT,
    description="recommendations.csv from every current segment's recommendations, then the run summary.",
)

send_job = define_asset_job(
    "send_job",
    selection=SEND,
    description="Send one segment's emails for the campaign (a segments partition): once per customer, at the rate.",
)
notifications_job = define_asset_job(
    "notifications_job",
    selection=NOTIFICATIONS,
    description="Add the SES bounce and complaint notifications (SQS queue, inbox JSON files) to the suppressions.",
)
results_job = define_asset_job(
    "results_job",
    selection=RESULTS,
    description="The campaign's conversion and lift, mailed customers against the holdout, from later interactions.",
)


def delete_created(
    recommender: Recommender, storage: ObjectStore, profiles: ProfileStore, log: logging.Logger
) -> list[str]:
    """Delete the Personalize resources, then the S3 objects and DynamoDB tables the pipeline created;
    local ones are left alone. Returns what was deleted (kinds and ARNs, s3:// URLs, table names)."""
    deleted = []
    if isinstance(recommender, PersonalizeRecommender):
        deleted += [f"{step.kind} {step.arn}" for step in recommender.cleanup()]
    else:
        log.info("the recommender is not Amazon Personalize: no Personalize resources to delete")
    if isinstance(storage, S3ObjectStore):
        keys = [key for prefix in CREATED_PREFIXES for key in storage.list_keys(prefix)]
        storage.delete(keys)
        deleted += [storage.location(key) for key in keys]
    else:
        log.info("the object store is not S3: local files are left alone")
    if isinstance(profiles, DynamoDBProfileStore):
        deleted += profiles.delete_tables()
    else:
        log.info("the profile store is not DynamoDB: the SQLite file is left alone")
    return deleted


@op(
    description=(
        "Delete the Personalize resources (campaigns to dataset group), "
        "then the S3 objects and DynamoDB tables the pipeline wrote."
    )
)
def delete_aws_resources(
    context: OpExecutionContext, recommender: Recommender, storage: ObjectStore, profiles: ProfileStore
) -> None:
    deleted = delete_created(recommender, storage, profiles, context.log)
    context.log.info("\n".join([f"deleted {len(deleted)} resources and objects", *deleted]))


@job(description="Delete what the pipeline created on AWS, dependents first, waiting until each is gone.")
def cleanup_aws():
    delete_aws_resources()
