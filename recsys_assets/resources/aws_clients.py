"""boto3 clients for every AWS resource: one place for retries, region and endpoint."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.config import Config

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


def backoff_delays(
    attempts: int, base_seconds: float, cap_seconds: float = 20.0, rng: random.Random | None = None
) -> Iterator[float]:
    """`attempts - 1` waits between attempts: exponential backoff with full jitter (uniform in [0, base * 2**i])."""
    rng = rng or random.Random()  # nosec B311: backoff jitter, not security
    for attempt in range(attempts - 1):
        yield rng.uniform(0.0, min(cap_seconds, base_seconds * 2**attempt))


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
