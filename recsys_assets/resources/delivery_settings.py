"""A campaign's delivery settings: its id, the holdout, the frequency cap, the rate and how hard to retry."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.delivery.messages import default_campaign

MAX_CLAIM_BATCH = 100


class DeliverySettings(ConfigurableResource):
    """Which campaign a send belongs to and the rules it is sent under (RECSYS_CAMPAIGN, RECSYS_HOLDOUT_SHARE, ...)."""

    campaign: str = Field(default="", description="The campaign id; empty: the ISO week's, like 2026-W50-weekly.")
    holdout_share: float = Field(
        default=0.10, ge=0, lt=1, description="Share of each campaign's eligible customers held out (no email)."
    )
    frequency_cap_days: float = Field(
        default=6.0, ge=0, description="A customer mailed by another campaign within this many days gets none."
    )
    max_send_rate: float | None = Field(
        default=None, gt=0, description="Messages per second; None: the sender's quota (no limit if it has none)."
    )
    daily_cap: int | None = Field(
        default=None, ge=0, description="Messages per UTC day over every campaign; None: the sender's daily quota."
    )
    claim_batch: int | None = Field(
        default=None,
        ge=1,
        description="Customers claimed at a time, which a sender killed outright leaves uncertain; None: a second's "
        "worth at the rate (1 to 100; 100 without a rate).",
    )
    lease_seconds: float = Field(
        default=60.0, gt=0, description="A claim not finished within this is uncertain (its sender died)."
    )
    max_attempts: int = Field(default=4, ge=1, description="Tries of a message the server refuses for now (4xx).")
    retry_seconds: float = Field(
        default=1.0, ge=0, description="The first wait before a retry; each next wait is twice as long."
    )
    notification_queue_url: str = Field(
        default="", description="SQS queue of SES bounce and complaint notifications; empty: inbox JSON files only."
    )
    results_window_days: int = Field(
        default=14, ge=1, description="campaign_results counts interactions this many days after the send."
    )

    def claim_size(self, rate: float | None) -> int:
        """Customers to claim at a time when sending at `rate` messages a second (None: no limit)."""
        if self.claim_batch is not None:
            return self.claim_batch
        return MAX_CLAIM_BATCH if rate is None else min(MAX_CLAIM_BATCH, max(1, math.ceil(rate)))

    def campaign_id(self, now: datetime | None = None) -> str:
        """The campaign setting, else the campaign of the ISO week of `now` (default: today, UTC)."""
        return self.campaign or default_campaign(now or datetime.now(timezone.utc))
