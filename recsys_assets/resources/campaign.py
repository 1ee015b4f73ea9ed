"""A campaign's rules for what it may recommend (Personalize's filter expressions and promotions, as one setting) and
whom it may write to."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.emails.recipients import ConsentRule


class CampaignRules(ConfigurableResource):
    """Which products a campaign may show and how varied its picks must be (one pick per variant family always), and
    which consent a customer needs to get its email (docs/emails.md, "Who gets an email")."""

    min_rating: float = Field(
        default=3.5, ge=0, le=5, description="Products rated lower (or unrated) are not recommended; 0 turns it off."
    )
    price_present: bool = Field(default=True, description="Only products with a price (an email shows it).")
    min_price: float = Field(default=0.0, ge=0, description="Products with a lower price are not recommended.")
    max_price: float | None = Field(default=None, ge=0, description="Products with a higher price are not; None: any.")
    include_categories: list[str] = Field(
        default=[], description="Only products with one of these on any level of their category path; []: all."
    )
    exclude_categories: list[str] = Field(
        default=[], description="No product with one of these on any level of its category path."
    )
    max_per_category: int = Field(default=2, ge=1, description="At most this many picks of one leaf category.")
    max_per_brand: int = Field(default=2, ge=1, description="At most this many picks of one brand (name's first word).")
    candidates_per_result: int = Field(
        default=4, ge=1, description="The recommender is asked for this many candidates per recommendation served."
    )
    consent: ConsentRule = Field(
        default="opted-in",
        description="Who may be emailed: 'opted-in' customers only, or every customer not unsubscribed (the soft "
        "opt-in of existing customers, where the law allows it); a suppression always wins.",
    )
