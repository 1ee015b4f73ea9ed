"""A campaign's delivery settings: its id, the holdout, the frequency cap, the rate and how hard to retry."""

from __future__ import annotations

from datetime import datetime, timezone

from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.delivery.messages import default_campaign


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
    claim_batch: int = Field(
        default=1, ge=1, description="Customers claimed at a time: a sender that dies leaves at most these uncertain."
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

    def campaign_id(self, now: datetime | None = None) -> str:
        """The campaign setting, else the campaign of the ISO week of `now` (default: today, UTC)."""
        return self.campaign or default_campaign(now or datetime.now(timezone.utc))
