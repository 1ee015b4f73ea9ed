"""What a run consumes on AWS (derived from its tables, so a local run reports it too), and an estimate of its price
from list prices that change: edit `AwsPrices` rather than trust it (docs/aws.md, "Costs")."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from recsys_assets.aws_formats.comprehend_documents import MAX_DOCUMENT_BYTES


@dataclass(frozen=True)
class AwsPrices:
    """USD list prices, us-east-1, as of 2025-10 (see each service's pricing page)."""

    comprehend_per_unit: float = 0.0001  # sentiment, per 100-character unit (first 10M units/month)
    personalize_per_training_hour: float = 0.24
    personalize_per_1k_batch_records: float = 0.067  # batch recommendations, per 1,000 users
    personalize_per_gb_ingested: float = 0.05
    bedrock_per_million_input_tokens: float = 1.00  # Claude Haiku 4.5 on demand (the default model)
    bedrock_per_million_output_tokens: float = 5.00
    dynamodb_per_million_write_units: float = 0.625  # on-demand write request units (price of 2024-11)
    s3_per_gb_month: float = 0.023  # S3 Standard, first 50 TB
    s3_per_1k_put_requests: float = 0.005


@dataclass(frozen=True)
class UsageAssumptions:
    """What the tables do not say: rough figures, edit them for your account's experience."""

    comprehend_min_units: int = 3  # Comprehend bills at least 3 units (300 characters) per document
    personalize_min_training_hours: float = 1.0
    personalize_training_hours_per_million_interactions: float = 2.0
    bedrock_prompt_tokens: int = 450  # system prompt, instructions and the customer's name
    bedrock_tokens_per_product: int = 45  # each recommended product passed as data
    bedrock_output_tokens: int = 300  # one email's subject and copy
    dynamodb_item_bytes: int = 1024  # serving items stay under 1 KB: one write unit each


@dataclass(frozen=True)
class AwsUsage:
    """Units of what a run consumes on AWS."""

    comprehend_units: int = 0
    personalize_training_hours: float = 0.0
    personalize_batch_records: int = 0
    personalize_ingested_bytes: int = 0
    bedrock_input_tokens: int = 0
    bedrock_output_tokens: int = 0
    dynamodb_write_units: int = 0
    s3_put_requests: int = 0
    s3_bytes: int = 0


def comprehend_units(texts: pd.Series, assumptions: UsageAssumptions = UsageAssumptions()) -> int:
    """Billed units of scoring `texts`: 100 characters a unit, at least 3 per document; each distinct text is
    sent once, an empty one never."""
    lengths = (
        texts.fillna("")
        .astype("string")
        .drop_duplicates()
        .str.strip()
        .str.len()
        .clip(upper=MAX_DOCUMENT_BYTES)
        .to_numpy()
    )
    units = np.maximum(np.ceil(lengths / 100), assumptions.comprehend_min_units)
    return int(units[lengths > 0].sum())


def estimate_usage(
    comprehend_units: int,
    interactions: int,
    users: int,
    emails: int,
    products_per_email: int,
    profile_rows: int,
    stored_objects: int,
    stored_bytes: int,
    personalize_bytes: int,
    assumptions: UsageAssumptions = UsageAssumptions(),
) -> AwsUsage:
    """A run's AWS usage from its counts: reviews scored, interactions trained on, users recommended to,
    emails written, rows written to the profile tables, objects and bytes written to storage."""
    training_hours = max(
        assumptions.personalize_min_training_hours,
        interactions / 1e6 * assumptions.personalize_training_hours_per_million_interactions,
    )
    return AwsUsage(
        comprehend_units=comprehend_units,
        personalize_training_hours=round(training_hours, 3) if interactions else 0.0,
        personalize_batch_records=users,
        personalize_ingested_bytes=personalize_bytes,
        bedrock_input_tokens=emails
        * (assumptions.bedrock_prompt_tokens + assumptions.bedrock_tokens_per_product * products_per_email),
        bedrock_output_tokens=emails * assumptions.bedrock_output_tokens,
        dynamodb_write_units=profile_rows * -(-assumptions.dynamodb_item_bytes // 1024),
        s3_put_requests=stored_objects,
        s3_bytes=stored_bytes,
    )


def estimate_cost(usage: AwsUsage, prices: AwsPrices = AwsPrices()) -> dict[str, float]:
    """USD per service and in total; S3 storage is priced for one month."""
    per_service = {
        "comprehend": usage.comprehend_units * prices.comprehend_per_unit,
        "personalize": usage.personalize_training_hours * prices.personalize_per_training_hour
        + usage.personalize_batch_records / 1_000 * prices.personalize_per_1k_batch_records
        + usage.personalize_ingested_bytes / 2**30 * prices.personalize_per_gb_ingested,
        "bedrock": usage.bedrock_input_tokens / 1e6 * prices.bedrock_per_million_input_tokens
        + usage.bedrock_output_tokens / 1e6 * prices.bedrock_per_million_output_tokens,
        "dynamodb": usage.dynamodb_write_units / 1e6 * prices.dynamodb_per_million_write_units,
        "s3": usage.s3_bytes / 2**30 * prices.s3_per_gb_month
        + usage.s3_put_requests / 1_000 * prices.s3_per_1k_put_requests,
    }
    rounded = {service: round(cost, 4) for service, cost in per_service.items()}
    return {**rounded, "total": round(sum(per_service.values()), 4)}


def usage_report(usage: AwsUsage, prices: AwsPrices = AwsPrices()) -> dict:
    """The `aws_usage` section of run_summary.json: units, estimated USD, and what the estimate assumes."""
    return {
        "usage": asdict(usage),
        "estimated_usd": estimate_cost(usage, prices),
        "prices": asdict(prices),
        "note": (
            "estimate from us-east-1 list prices as of 2025-10 (recsys_assets/aws_formats/costs.py); "
            "S3 storage for one month"
        ),
    }
