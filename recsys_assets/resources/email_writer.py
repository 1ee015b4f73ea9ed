"""Email writer: turns each customer's recommended products into a packaged .eml email."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, ConfigurableResource, get_dagster_logger
from pydantic import Field

from recsys_assets.emails.frame import (
    BRAND_FIELDS,
    DEFAULT_BRAND,
    Brand,
    brand_problems,
    demo_fields,
    parse_email_date,
)
from recsys_assets.emails.render import (
    EmailFailure,
    PackagedEmail,
    compose_emails,
    email_jobs,
    template_version,
)
from recsys_assets.parallel import imap_chunks, resolve_workers

# Below this many users one process is faster than starting a pool.
PARALLEL_MIN_USERS = 5_000
USERS_PER_CHUNK = 2_000

EmailBatch = tuple[list[PackagedEmail], list[EmailFailure]]


class EmailWriter(ConfigurableResource, ABC):
    """Writes one email per customer with recommendations, in the brand's frame (emails/frame.py)."""

    template_dir: str = Field(default="", description="Folder with custom templates; empty for the bundled ones.")
    shop_name: str = Field(default=DEFAULT_BRAND.shop_name, description="The shop's name, in the header and footer.")
    sender: str = Field(
        default=DEFAULT_BRAND.sender, description="From header, 'Name <address>'; Message-IDs are on its domain."
    )
    reply_to: str = Field(default="", description="Reply-To header, 'Name <address>'; empty for none.")
    logo_url: str = Field(default="", description="https URL of the logo image; empty shows the shop's name.")
    accent_colour: str = Field(default=DEFAULT_BRAND.accent_colour, description="Accent colour, #rrggbb.")
    postal_address: str = Field(
        default=DEFAULT_BRAND.postal_address,
        description="The sender's postal address, in every footer (CAN-SPAM); the demo's is refused for sending.",
    )
    unsubscribe_url: str = Field(
        default=DEFAULT_BRAND.unsubscribe_url,
        description="https URL template of the one-click unsubscribe link, with {customer} and {token}.",
    )
    unsubscribe_mailto: str = Field(
        default=DEFAULT_BRAND.unsubscribe_mailto, description="Address for mailto unsubscribes; empty for none."
    )
    unsubscribe_secret: str = Field(
        default=DEFAULT_BRAND.unsubscribe_secret,
        description="HMAC key of the unsubscribe tokens: EnvVar('RECSYS_UNSUBSCRIBE_SECRET'); the demo's is refused "
        "for sending.",
    )
    currency: str = Field(default=DEFAULT_BRAND.currency, description="ISO 4217 code of the catalog's prices.")
    locale: str = Field(default=DEFAULT_BRAND.locale, description="Locale the prices are written in, like en_IN.")
    email_date: str = Field(
        default="",
        description="Date header of the emails written, ISO 8601 with offset (2026-01-15T09:00:00+00:00); empty: "
        "the run's start.",
    )

    def brand(self) -> Brand:
        """The brand these settings describe; a setting no email can be sent with raises ValueError."""
        brand = Brand(**{name: getattr(self, name) for name in BRAND_FIELDS})
        problems = brand_problems(brand)
        if problems:
            raise ValueError("; ".join(f"email writer's {name} {problem}" for name, problem in problems.items()))
        return brand

    def version(self) -> str:
        """What decides an email besides its data: the templates and the brand (and, for a model, its settings). Not
        the date: a kept email keeps the Date it was written with."""
        templates = template_version(Path(self.template_dir) if self.template_dir else None)
        return "\n".join([templates, self.brand().version()])

    def date_for(self, context: AssetExecutionContext) -> datetime:
        """The Date of the emails written in this run: `email_date` when set, else the run's start (UTC, whole
        seconds; now when the run has no record, as in a directly invoked asset)."""
        if self.email_date:
            return parse_email_date(self.email_date)
        record = context.instance.get_run_record_by_id(context.run_id)
        started = record.start_time if record and record.start_time else time.time()
        return datetime.fromtimestamp(int(started), timezone.utc)

    def framed_brand(self) -> Brand:
        """`brand()`, with a warning in the run's log for each demo value in it (a sender must refuse them)."""
        brand = self.brand()
        for name in demo_fields(brand):
            get_dagster_logger().warning(
                f"the emails use the demo {name.replace('_', ' ')}: set RECSYS_{name.upper()} before sending any"
            )
        return brand

    @abstractmethod
    def write(
        self,
        recommendations: pd.DataFrame,
        products: pd.DataFrame,
        users: pd.DataFrame,
        addresses: pd.Series,
        date: datetime,
    ) -> Iterator[EmailBatch]:
        """Batches of packaged emails to `addresses` (each user's own, by user id), dated `date` (timezone-aware), in
        user order, with the users whose email failed (and why)."""


class TemplateEmailWriter(EmailWriter):
    """Jinja2 templates (subject.txt.j2, email.txt.j2, email.html.j2); HTML is autoescaped."""

    workers: int = Field(default=0, description="Processes to render with; 0 means one per core (many users only).")

    def write(
        self,
        recommendations: pd.DataFrame,
        products: pd.DataFrame,
        users: pd.DataFrame,
        addresses: pd.Series,
        date: datetime,
    ) -> Iterator[EmailBatch]:
        n_users = recommendations["USER_ID"].nunique()
        workers = 1 if n_users < PARALLEL_MIN_USERS else resolve_workers(self.workers)
        jobs = email_jobs(
            recommendations,
            products,
            users,
            addresses,
            chunks=-(-n_users // USERS_PER_CHUNK),
            template_dir=Path(self.template_dir) if self.template_dir else None,
            brand=self.framed_brand(),
            date=date,
        )
        return imap_chunks(compose_emails, jobs, workers)
