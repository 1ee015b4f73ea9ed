"""Who of a campaign's recipients gets no email, and why (docs/sending.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_assets.delivery.holdout import in_holdout

ALREADY_SENT = "already sent"
FREQUENCY_CAP = "frequency cap"
HOLDOUT = "holdout"
DAY_SECONDS = 86_400


def skip_reasons(
    recipients: pd.DataFrame, ledger: pd.DataFrame, holdout: float, cap_days: float, now: float, campaign: str
) -> pd.Series:
    """Per recipient (user_id, email, reason), "" to send or why not, indexed like `recipients`: its own reason
    first, then "already sent" (any ledger row of `campaign`, holdout included), "frequency cap" (a ledger row
    of another campaign, by user id or address, sent within `cap_days` before `now`), then "holdout"
    (in_holdout with share `holdout`). `ledger`: campaign, user_id, email, sent_at, as rows(campaign) and
    mailed_since(now - cap) give them."""
    user_ids = recipients["user_id"].astype(object)
    addresses = recipients["email"].astype("string").fillna("").str.lower().astype(object)
    own = ledger["campaign"].astype(object) == campaign
    sent_at = pd.to_numeric(ledger["sent_at"], errors="coerce")
    recent = (
        ~own & sent_at.between(now - cap_days * DAY_SECONDS, now) if cap_days > 0 else pd.Series(False, ledger.index)
    )
    recent_addresses = set(ledger.loc[recent, "email"].astype("string").fillna("").str.lower()) - {""}
    conditions = [
        recipients["reason"].astype("string").fillna("").ne("").to_numpy(),
        user_ids.isin(set(ledger.loc[own, "user_id"])).to_numpy(),
        (user_ids.isin(set(ledger.loc[recent, "user_id"])) | addresses.isin(recent_addresses)).to_numpy(),
        in_holdout(campaign, recipients["user_id"], holdout).to_numpy(),
    ]
    choices = [recipients["reason"].astype(object).to_numpy(), ALREADY_SENT, FREQUENCY_CAP, HOLDOUT]
    return pd.Series(np.select(conditions, choices, ""), index=recipients.index, name="reason", dtype="string")
