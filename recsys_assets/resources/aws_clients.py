"""boto3 clients for every AWS resource: one place for retries, region and endpoint."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from recsys_assets.delivery.pacing import backoff_delays

DEFAULT_RETRY_MODE = "adaptive"
DEFAULT_MAX_ATTEMPTS = 8
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "ProvisionedThroughputExceededException"}
)


def aws_client(
    service: str,
    region: str | None = None,
    retry_mode: str = DEFAULT_RETRY_MODE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Any:
    """A boto3 client with standard/adaptive retries.

    Region: `region`, else AWS_REGION, else boto3's own resolution (AWS_DEFAULT_REGION, ~/.aws/config).
    Endpoint: boto3 itself honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (botocore >= 1.31),
    so the same code talks to a local S3/DynamoDB-compatible server.
    """
    config = Config(retries={"mode": retry_mode, "max_attempts": max_attempts})
    return boto3.session.Session().client(service, region_name=resolve_region(region), config=config)


def resolve_region(region: str | None = None) -> str | None:
    """The explicit region, else AWS_REGION; None lets boto3 read AWS_DEFAULT_REGION or the config file."""
    return region or os.environ.get("AWS_REGION") or None


def retry_pending(send: Callable[[list], list], pending: list, attempts: int, base_seconds: float) -> list:
    """Call `send(pending)` until it returns nothing left (its unprocessed part) or attempts run out.

    Returns what is still unprocessed after the last attempt (empty on success); the caller decides
    whether that is an error or a recorded failure.
    """
    delays = backoff_delays(attempts, base_seconds)
    pending = send(pending)
    for delay in delays:
        if not pending:
            break
        time.sleep(delay)
        pending = send(pending)
    return pending
