"""How events become interactions, as a setting of the run (`interactions.InteractionRules`; docs/own-data.md)."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.interactions import DEFAULT_EVENT_WEIGHTS, InteractionRules


class InteractionRulesResource(ConfigurableResource):
    """The event weights, Personalize's event-value threshold and the repeat-purchase rule of the interactions."""

    event_weights: dict[str, float] = Field(
        default=dict(DEFAULT_EVENT_WEIGHTS),
        description="EVENT_VALUE of each event type (lower case): purchase, add-to-cart, view, ...",
    )
    unknown_event_weight: float = Field(
        default=InteractionRules.unknown_event_weight, ge=0, description="EVENT_VALUE of any other event type."
    )
    event_value_threshold: float | None = Field(
        default=None, description="An event whose own event_value is below this is no positive signal; None: none."
    )
    buy_again_after_days: int | None = Field(
        default=None,
        ge=0,
        description="None: never recommend what a customer bought; N: an item bought at least N days before the "
        "newest event may be recommended again (RECSYS_BUY_AGAIN_AFTER_DAYS).",
    )

    def rules(self) -> InteractionRules:
        """The settings as the pure functions take them."""
        return InteractionRules(
            event_weights=dict(self.event_weights),
            unknown_event_weight=self.unknown_event_weight,
            event_value_threshold=self.event_value_threshold,
            buy_again_after_days=self.buy_again_after_days,
        )
