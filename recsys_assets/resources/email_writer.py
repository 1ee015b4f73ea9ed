"""Email writer: turns each customer's recommended products into a subject, text and HTML email."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.emails import EmailFailure, RenderedEmail, render_emails, template_environment


class EmailWriter(ConfigurableResource, ABC):
    """Writes one email per customer from display rows (see `emails.email_items`)."""

    sender: str = Field(default="Recommendations <recommendations@shop.example>", description="From header.")
    recipient_domain: str = Field(default="customers.example", description="Recipients are <user_id>@domain.")

    @abstractmethod
    def write(
        self, items: pd.DataFrame, users: pd.DataFrame
    ) -> tuple[list[RenderedEmail], list[EmailFailure]]: ...


class TemplateEmailWriter(EmailWriter):
    """Jinja2 templates (subject.txt.j2, email.txt.j2, email.html.j2); HTML is autoescaped."""

    template_dir: str = Field(default="", description="Folder with custom templates; empty for the bundled ones.")

    def write(self, items: pd.DataFrame, users: pd.DataFrame) -> tuple[list[RenderedEmail], list[EmailFailure]]:
        env = template_environment(Path(self.template_dir) if self.template_dir else None)
        return render_emails(items, users, env)
