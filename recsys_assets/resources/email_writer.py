"""Email writer: turns each customer's recommended products into a packaged .eml email."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.emails.frame import Brand
from recsys_assets.emails.render import (
    DEFAULT_SENDER,
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
    """Writes one email per customer with recommendations."""

    sender: str = Field(default=DEFAULT_SENDER, description="From header.")
    recipient_domain: str = Field(default="customers.example", description="Recipients are <customer key>@domain.")
    template_dir: str = Field(default="", description="Folder with custom templates; empty for the bundled ones.")

    def brand(self) -> Brand:
        """The brand the emails are framed in (a stand-in with the sender only, until the brand settings land)."""
        return Brand(sender=self.sender)

    def version(self) -> str:
        """What decides an email besides its data: the templates, the sender and the recipients' domain (and, for a
        model, its settings)."""
        templates = template_version(Path(self.template_dir) if self.template_dir else None)
        return "\n".join([templates, self.sender, self.recipient_domain])

    @abstractmethod
    def write(self, recommendations: pd.DataFrame, products: pd.DataFrame, users: pd.DataFrame) -> Iterator[EmailBatch]:
        """Batches of packaged emails in user order, with the users whose email failed (and why)."""


class TemplateEmailWriter(EmailWriter):
    """Jinja2 templates (subject.txt.j2, email.txt.j2, email.html.j2); HTML is autoescaped."""

    workers: int = Field(default=0, description="Processes to render with; 0 means one per core (many users only).")

    def write(self, recommendations: pd.DataFrame, products: pd.DataFrame, users: pd.DataFrame) -> Iterator[EmailBatch]:
        n_users = recommendations["USER_ID"].nunique()
        workers = 1 if n_users < PARALLEL_MIN_USERS else resolve_workers(self.workers)
        jobs = email_jobs(
            recommendations,
            products,
            users,
            chunks=-(-n_users // USERS_PER_CHUNK),
            template_dir=Path(self.template_dir) if self.template_dir else None,
            sender=self.sender,
            recipient_domain=self.recipient_domain,
        )
        return imap_chunks(compose_emails, jobs, workers)
