"""Amazon Bedrock writes the email copy; our templates render it, and the template email is the fallback."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError
from pydantic import Field, PrivateAttr

from recsys_assets.emails.frame import Brand
from recsys_assets.emails.model_copy import (
    SYSTEM_PROMPT,
    TASK,
    CopyLimits,
    InvalidCopy,
    copy_problems,
    parse_copy,
    prompt_data,
)
from recsys_assets.emails.render import (
    EmailCopy,
    PackagedEmail,
    RenderedEmail,
    email_items,
    render_emails,
    template_environment,
    to_eml,
)
from recsys_assets.resources.aws_clients import THROTTLING_CODES, aws_client, backoff_delays
from recsys_assets.resources.email_writer import EmailBatch, EmailWriter

# Claude Haiku 4.5 through the US cross-region inference profile; model ids retire, so it is a setting (docs/emails.md).
DEFAULT_MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
# Errors that every call would get (no model access, unknown model, bad or missing credentials): they stop the run.
REFUSALS = frozenset(
    {
        "AccessDeniedException",
        "ResourceNotFoundException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
    }
)
# A ValidationException that is about the model id (unknown, or a foundation model that needs an inference profile).
MODEL_ID_PROBLEM = re.compile(r"model identifier|model id|inference profile", re.IGNORECASE)
UNUSABLE_SETUP = (NoCredentialsError, PartialCredentialsError, NoRegionError)


class BedrockRefused(RuntimeError):
    """Bedrock refuses the model itself, so no email could be written by it."""


@dataclass(frozen=True)
class ModelReply:
    """The copy a model wrote for one user (None when it is unusable, with the reason) and its token usage."""

    copy: EmailCopy | None
    problem: str
    input_tokens: int = 0
    output_tokens: int = 0


class BedrockEmailWriter(EmailWriter):
    """Converse API per customer, bounded concurrency; invalid or failed replies fall back to the template email.
    Throttling is retried with jittered exponential backoff (`throttle_attempts` calls at most)."""

    model_id: str = Field(default=DEFAULT_MODEL_ID, description="Bedrock model or inference profile id.")
    region: str = Field(default="", description="AWS region; empty uses AWS_REGION / the AWS config.")
    max_concurrency: int = Field(default=4, ge=1, description="Model calls in flight at once.")
    max_tokens: int = Field(default=700, ge=100, description="Reply length limit, in tokens.")
    temperature: float = Field(default=0.5, ge=0, le=1)
    throttle_attempts: int = Field(default=6, ge=1, description="Calls per email when throttled.")
    backoff_seconds: float = Field(
        default=1.0, ge=0, description="First backoff step; doubles per attempt, with jitter."
    )
    users_per_batch: int = Field(default=100, ge=1, description="Users rendered and yielded together.")
    _client: Any = PrivateAttr(default=None)

    def version(self) -> str:
        """The templates, the prompt and the model settings: a change to any of them rewrites every email."""
        return "\n".join(
            [super().version(), self.model_id, f"{self.temperature}/{self.max_tokens}", SYSTEM_PROMPT, TASK]
        )

    def client(self) -> Any:
        """The bedrock-runtime client, built once."""
        if self._client is None:
            self._client = aws_client("bedrock-runtime", self.region or None, max_attempts=3)
        return self._client

    def write(
        self,
        recommendations: pd.DataFrame,
        products: pd.DataFrame,
        users: pd.DataFrame,
        addresses: pd.Series,
        date: datetime,
    ) -> Iterator[EmailBatch]:
        brand = self.framed_brand()
        items = email_items(recommendations, products, brand)
        env = template_environment(Path(self.template_dir) if self.template_dir else None)
        names = users.set_index("user_id")["user_name"].fillna("")
        catalog_ids = frozenset(products["product_id"].astype(str))
        user_ids = items["user_id"].drop_duplicates().tolist()
        try:
            self.client()  # once, before the threads share it
        except UNUSABLE_SETUP as error:
            raise self._refused(error) from error
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            for start in range(0, len(user_ids), self.users_per_batch):
                part = items[items["user_id"].isin(user_ids[start : start + self.users_per_batch])]
                per_user = dict(tuple(part.groupby("user_id", sort=False)))
                replies = dict(
                    zip(
                        per_user,
                        pool.map(
                            lambda u, rows=per_user: self.copy_for(str(names.get(u, "")), rows[u], catalog_ids),
                            per_user,
                        ),
                    )
                )
                copies = {user: reply.copy for user, reply in replies.items() if reply.copy}
                rendered, failures = render_emails(part, users, env, copies, brand)
                to = addresses.reindex([e.user_id for e in rendered])
                packaged = [_package(e, a, brand, date, replies[e.user_id]) for e, a in zip(rendered, to)]
                yield packaged, failures

    def copy_for(self, user_name: str, items: pd.DataFrame, catalog_ids: frozenset[str]) -> ModelReply:
        """Ask the model for one customer's copy and validate it; a refused model raises `BedrockRefused`."""
        try:
            response = self._converse(user_name, items)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            if code in REFUSALS or (code == "ValidationException" and MODEL_ID_PROBLEM.search(str(error))):
                raise self._refused(error) from error
            return ModelReply(None, f"Bedrock {code}: {error}")
        except UNUSABLE_SETUP as error:
            raise self._refused(error) from error
        except BotoCoreError as error:  # timeouts, lost connections: this email falls back, the others go on
            return ModelReply(None, f"Bedrock {type(error).__name__}: {error}")
        usage = response.get("usage", {})
        tokens = {"input_tokens": usage.get("inputTokens", 0), "output_tokens": usage.get("outputTokens", 0)}
        if response.get("stopReason") != "end_turn":
            return ModelReply(None, f"reply ended with {response.get('stopReason')}", **tokens)
        text = "".join(block.get("text", "") for block in response["output"]["message"]["content"])
        try:
            copy = parse_copy(text)
        except InvalidCopy as error:
            return ModelReply(None, str(error), **tokens)
        problems = copy_problems(copy, items, catalog_ids, CopyLimits())
        return ModelReply(None if problems else copy, "; ".join(problems), **tokens)

    def _refused(self, error: Exception) -> BedrockRefused:
        return BedrockRefused(
            f"Bedrock refuses model {self.model_id}: {error}; check the credentials, the model access of the account "
            "and region, and RECSYS_BEDROCK_MODEL_ID"
        )

    def _converse(self, user_name: str, items: pd.DataFrame) -> dict:
        """One Converse call; throttling is retried with jittered exponential backoff."""
        delays = backoff_delays(self.throttle_attempts, self.backoff_seconds)
        while True:
            try:
                return self.client().converse(
                    modelId=self.model_id,
                    system=[{"text": SYSTEM_PROMPT}],
                    messages=[{"role": "user", "content": [{"text": TASK}, {"text": prompt_data(user_name, items)}]}],
                    inferenceConfig={"maxTokens": self.max_tokens, "temperature": self.temperature},
                )
            except ClientError as error:
                delay = next(delays, None)
                if error.response.get("Error", {}).get("Code") not in THROTTLING_CODES or delay is None:
                    raise
                time.sleep(delay)


def _package(email: RenderedEmail, recipient: str, brand: Brand, date: datetime, reply: ModelReply) -> PackagedEmail:
    """The rendered email as an .eml, with where its copy came from and the model's usage."""
    return PackagedEmail(
        email.user_id,
        email.subject,
        to_eml(email, recipient, brand, date),
        origin="model" if reply.copy else "fallback",
        preheader=email.preheader,
        html=email.html,
        fallback_reason=reply.problem,
        input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens,
    )
