"""One segment's send: claim customers in the ledger a batch at a time, send each claimed message at the rate,
retry what the server refuses for now, and record every outcome."""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import pandas as pd

from recsys_assets.delivery.messages import with_message_id
from recsys_assets.delivery.pacing import RateLimiter, RetryPolicy, call_with_retries
from recsys_assets.resources.delivery_ledger import FAILED, SENDING, SENT, DeliveryLedger
from recsys_assets.resources.delivery_settings import DeliverySettings
from recsys_assets.resources.email_sender import (
    PermanentSendError,
    SenderSetupError,
    SendSession,
    TransientSendError,
    UncertainSendError,
)

# the columns of a send plan: one row per customer to send to
PLAN_COLUMNS = ["user_id", "email", "message_id", "key"]


@dataclass
class SendOutcomes:
    """What a send did: messages sent, failures by reason, retries, and how fast it went."""

    sent: int = 0
    failed: Counter = field(default_factory=Counter)
    retries: int = 0
    seconds: float = 0.0
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # (user_id, status, error)

    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def merged(self, other: SendOutcomes) -> SendOutcomes:
        """Both sends' outcomes as one."""
        return SendOutcomes(
            self.sent + other.sent,
            self.failed + other.failed,
            self.retries + other.retries,
            self.seconds + other.seconds,
            self.outcomes + other.outcomes,
        )


def sender_owner(run_id: str) -> str:
    """Who holds a claim: host, process id and run (shown in the ledger)."""
    return f"{socket.gethostname()}/{os.getpid()}/{run_id}"


# A claim whose lease ran out mid-batch and that another sender took over (`reclaim_uncertain`): not sent here.
TAKEN_OVER = "taken over by another sender"


def send_plan(
    plan: pd.DataFrame,
    *,
    session: SendSession,
    ledger: DeliveryLedger,
    campaign: str,
    owner: str,
    settings: DeliverySettings,
    from_address: str,
    read_message: Callable[[str], bytes],
    limiter: RateLimiter | None,
    claimed: bool = False,
) -> SendOutcomes:
    """Send every row of `plan` (PLAN_COLUMNS) that this sender wins in the ledger (`claimed`: the rows are already
    this owner's), at most at the limiter's rate. A row is claimed `sending` before its message leaves and finished
    `sent` or `failed` after; a refusal for now (4xx, throttling) is retried with backoff, a permanent one is not.
    An error that stops the send (a SenderSetupError, a crash) gives the claims not yet tried back; a sender killed
    outright leaves its last claim batch (about a second of sending) uncertain."""
    outcomes = SendOutcomes()
    policy = RetryPolicy(attempts=settings.max_attempts, base_seconds=settings.retry_seconds)
    started = time.monotonic()
    size = settings.claim_size(limiter.per_second if limiter is not None else None)
    for start in range(0, len(plan), size):
        batch = plan.iloc[start : start + size]
        if not claimed:
            won = ledger.claim(
                campaign,
                batch[["user_id", "email", "message_id"]].assign(status=SENDING),
                owner,
                settings.lease_seconds,
            )
            batch = batch[batch["user_id"].isin(won["user_id"])]
        for position, row in enumerate(batch.itertuples(index=False)):
            tried = False
            try:
                message = with_message_id(read_message(row.key), row.message_id)
                if limiter is not None:
                    limiter.acquire()
                # the claim is renewed right before the message leaves: one taken over past its lease is not sent
                if not ledger.renew(campaign, row.user_id, owner, settings.lease_seconds):
                    outcomes.outcomes.append((row.user_id, "skipped", TAKEN_OVER))
                    continue
                tried = True
                provider_id, attempts = call_with_retries(
                    partial(session.send, message, from_address, row.email), (TransientSendError,), policy
                )
            except UncertainSendError:
                # it may have left: the claim stays "sending" (uncertain once its lease runs out), never resent here
                outcomes.outcomes.append((row.user_id, "skipped", "uncertain"))
                continue
            except (TransientSendError, PermanentSendError) as error:
                reason = error.reason + (" (after retries)" if isinstance(error, TransientSendError) else "")
                ledger.finish(campaign, row.user_id, FAILED, error=str(error), attempts=error.attempts)
                outcomes.failed[reason] += 1
                outcomes.retries += error.attempts - 1
                outcomes.outcomes.append((row.user_id, FAILED, reason))
                continue
            except BaseException as error:
                # the claims not tried go back; the message being sent stays uncertain unless it cannot have left
                left = tried and not isinstance(error, SenderSetupError)
                ledger.release(campaign, batch["user_id"].iloc[position + left :], owner)
                raise
            ledger.finish(campaign, row.user_id, SENT, provider_id=provider_id, attempts=attempts)
            outcomes.sent += 1
            outcomes.retries += attempts - 1
            outcomes.outcomes.append((row.user_id, SENT, ""))
    outcomes.seconds = time.monotonic() - started
    return outcomes
