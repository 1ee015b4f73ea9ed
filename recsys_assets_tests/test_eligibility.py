"""Who of a campaign's recipients gets no email: their own reason, already sent, the frequency cap, the holdout."""

import pandas as pd

from recsys_assets.delivery.eligibility import DAY_SECONDS, skip_reasons
from recsys_assets.delivery.holdout import in_holdout

CAMPAIGN = "2026-12-weekly"
NOW = 1_796_000_000.0


def recipients(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "email", "reason"])


def ledger(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["campaign", "user_id", "email", "sent_at"])


def reasons(people: pd.DataFrame, rows: pd.DataFrame, holdout: float = 0.0, cap_days: float = 7) -> list[str]:
    return skip_reasons(people, rows, holdout, cap_days, NOW, CAMPAIGN).tolist()


def test_a_recipients_own_reason_comes_first_then_already_sent():
    people = recipients(("U1", "u1@shop.test", "unsubscribed"), ("U2", "u2@shop.test", ""))
    rows = ledger((CAMPAIGN, "U1", "u1@shop.test", NOW - 60), (CAMPAIGN, "U2", "u2@shop.test", NOW - 60))
    assert reasons(people, rows, holdout=1.0) == ["unsubscribed", "already sent"]


def test_any_row_of_the_campaign_is_already_sent_even_a_holdout_or_failed_one():
    people = recipients(("U1", "u1@shop.test", ""), ("U2", "u2@shop.test", ""), ("U3", "u3@shop.test", ""))
    rows = ledger((CAMPAIGN, "U1", "u1@shop.test", float("nan")), (CAMPAIGN, "U2", "", float("nan")))
    assert reasons(people, rows) == ["already sent", "already sent", ""]


def test_another_campaign_within_the_cap_days_caps_by_user_id_or_address():
    people = recipients(
        ("U1", "u1@shop.test", ""),  # mailed 3 days ago
        ("U2", "U2@Shop.test", ""),  # its address mailed 3 days ago, as another customer
        ("U3", "u3@shop.test", ""),  # mailed 8 days ago
        ("U4", "u4@shop.test", ""),  # never mailed
    )
    rows = ledger(
        ("2026-11-weekly", "U1", "u1@shop.test", NOW - 3 * DAY_SECONDS),
        ("2026-11-weekly", "OLD2", "u2@shop.test", NOW - 3 * DAY_SECONDS),
        ("2026-11-weekly", "U3", "u3@shop.test", NOW - 8 * DAY_SECONDS),
        ("2026-11-weekly", "U4", "", float("nan")),  # held out or failed: not mailed
    )
    assert reasons(people, rows) == ["frequency cap", "frequency cap", "", ""]
    assert reasons(people, rows, cap_days=0) == ["", "", "", ""]


def test_the_holdout_is_drawn_among_those_still_eligible():
    people = recipients(*[(f"U{n}", f"u{n}@shop.test", "") for n in range(200)], ("X", "x@shop.test", "no consent"))
    result = skip_reasons(people, ledger(), 0.3, 7, NOW, CAMPAIGN)
    held = in_holdout(CAMPAIGN, people["user_id"], 0.3)
    assert result.iloc[-1] == "no consent"
    assert (result.iloc[:-1] == "holdout").tolist() == held.iloc[:-1].tolist()
    assert set(result.iloc[:-1]) == {"", "holdout"} and result.index.equals(people.index)
