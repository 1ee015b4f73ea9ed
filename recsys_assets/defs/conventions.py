"""Dagster conventions applied to every asset in one place: groups, owners, kinds, code versions, column schemas.

Kinds follow the implementations the RunOptions choose (a table in S3 is `s3`, a local one `parquet`).
"""

from __future__ import annotations

import warnings

import dagster as dg
import pandera.pandas as pa

from recsys_assets.emails.render import template_version
from recsys_assets.environment import RunOptions
from recsys_assets.schemas import TABLE_SCHEMAS

INGEST, SENTIMENT, MODEL, MARKETING, SERVING = "ingest", "sentiment", "model", "marketing", "serving"
DELIVERY = "delivery"
OWNERS = ["team:recsys"]
# bump an asset's version when its code changes what it produces; the emails follow their templates
CODE_VERSIONS = {"recommender_model": "model-1", "emails": f"templates-{template_version()[:12]}"}
DEFAULT_CODE_VERSION = "1"

# asset -> the role whose implementation it runs on, besides where its table is stored
ROLE_OF = {
    "file_sentiment": "sentiment",
    "recommender_model": "recommender",
    "recommendations": "recommender",
    "emails": "email",
    "served_products": "profiles",
    "served_users": "profiles",
    "served_recommendations": "profiles",
    "current_customers_served": "profiles",
    "email_deliveries": "sender",
    "delivery_notifications": "profiles",
    "campaign_results": "profiles",
}
KIND_OF = {
    "vader": "python",
    "comprehend": "comprehend",
    "local": "python",
    "personalize": "personalize",
    "template": "jinja",
    "bedrock": "bedrock",
    "sqlite": "sqlite",
    "dynamodb": "dynamodb",
    "smtp": "smtp",
    "ses": "ses",
}
FILE_ASSETS = {"personalize_import_files", "segment_recommendations_csv", "recommendations_export", "run_summary"}


def column_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """The pandera model's columns as a Dagster table schema (type, nullability, uniqueness, checks)."""
    schema = model.to_schema()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=str(name),
                type=str(column.dtype),
                description=column.description,
                constraints=dg.TableColumnConstraints(
                    nullable=bool(column.nullable),
                    unique=bool(column.unique),
                    other=[str(check.name) for check in column.checks],
                ),
            )
            for name, column in schema.columns.items()
        ]
    )


def asset_kinds(name: str, options: RunOptions) -> set[str]:
    """At most three kinds: what the asset runs on, and where its output lives."""
    stored = "s3" if options.storage == "s3" else "parquet"
    kinds = set()
    if name in ROLE_OF:
        kinds.add(KIND_OF[getattr(options, ROLE_OF[name])])
    if name in TABLE_SCHEMAS:
        kinds |= {"pandas", stored}
    elif name == "recommender_model":
        kinds.add(stored if options.storage == "s3" else "numpy")
    elif name in FILE_ASSETS:
        kinds |= {"csv" if name != "run_summary" else "json", "s3" if options.storage == "s3" else "file"}
    return kinds


def apply_conventions(defs: dg.Definitions, options: RunOptions) -> dg.Definitions:
    """Owners, kinds, code versions and (for tables) dagster/column_schema on every asset of `defs`."""

    def convention(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.to_user_string()
        metadata = {"dagster/column_schema": column_schema(TABLE_SCHEMAS[name])} if name in TABLE_SCHEMAS else {}
        spec = spec.merge_attributes(owners=OWNERS, kinds=asset_kinds(name, options), metadata=metadata)
        return spec.replace_attributes(code_version=CODE_VERSIONS.get(name, DEFAULT_CODE_VERSION))

    with warnings.catch_warnings():  # map_resolved_asset_specs is a preview API in Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(func=convention)
