"""send_plan against the SQLite ledger and a stub session: a claim taken over past its lease is not sent twice, and a
message whose connection dropped during DATA stays uncertain."""

import time

import pandas as pd

from recsys_assets.defs.delivery.sending import TAKEN_OVER, send_plan
from recsys_assets.resources.delivery_ledger import SqliteDeliveryLedger
from recsys_assets.resources.delivery_settings import DeliverySettings
from recsys_assets.resources.email_sender import UncertainSendError

CAMPAIGN = "2026-W50-weekly"
PLAN = pd.DataFrame(
    {
        "user_id": ["u1", "u2", "u3"],
        "email": ["u1@shop.test", "u2@shop.test", "u3@shop.test"],
        "message_id": ["<a@shop.test>", "<b@shop.test>", "<c@shop.test>"],
        "key": ["k1", "k2", "k3"],
    }
)
EML = b"From: Shop <news@shop.test>\nSubject: Hi\n\nHello\n"


class RecordingSession:
    """Records each recipient; `on_send(to)` runs before the message is accepted."""

    def __init__(self, on_send=lambda to: None):
        self.sent, self.on_send = [], on_send

    def send(self, message: bytes, from_address: str, to_address: str) -> str:
        self.on_send(to_address)
        self.sent.append(to_address)
        return f"id-{to_address}"


def plan_send(ledger, session, owner: str, settings: DeliverySettings):
    return send_plan(
        PLAN,
        session=session,
        ledger=ledger,
        campaign=CAMPAIGN,
        owner=owner,
        settings=settings,
        from_address="news@shop.test",
        read_message=lambda key: EML,
        limiter=None,
    )


def test_a_claim_another_sender_took_over_while_the_first_was_slow_is_sent_once(tmp_path):
    ledger = SqliteDeliveryLedger(path=str(tmp_path / "deliveries.sqlite"))
    resender = RecordingSession()

    def slow_first_message(to: str) -> None:
        if to == "u1@shop.test":  # the lease runs out while u1 goes out; a resend takes the batch over
            resender_rows = ledger.reclaim_uncertain(CAMPAIGN, "resender", 60.0, now=time.time() + 120.0)
            for row in resender_rows.itertuples():
                if ledger.renew(CAMPAIGN, row.user_id, "resender", 60.0) and row.user_id != "u1":
                    resender.send(EML, "news@shop.test", row.email)
                    ledger.finish(CAMPAIGN, row.user_id, "sent")

    first = RecordingSession(slow_first_message)
    outcomes = plan_send(ledger, first, "slow", DeliverySettings())
    assert first.sent == ["u1@shop.test"]  # u2 and u3 were no longer its own
    assert sorted(first.sent + resender.sent) == ["u1@shop.test", "u2@shop.test", "u3@shop.test"]
    assert [o for o in outcomes.outcomes if o[2] == TAKEN_OVER] == [
        ("u2", "skipped", TAKEN_OVER),
        ("u3", "skipped", TAKEN_OVER),
    ]


def test_a_message_whose_connection_dropped_during_data_stays_uncertain_and_is_not_retried(tmp_path):
    ledger = SqliteDeliveryLedger(path=str(tmp_path / "deliveries.sqlite"))
    tries = []

    def drop_on_u2(to: str) -> None:
        tries.append(to)
        if to == "u2@shop.test":
            raise UncertainSendError("dropped during DATA; the message may have been delivered", "dropped")

    outcomes = plan_send(ledger, RecordingSession(drop_on_u2), "sender", DeliverySettings())
    assert tries.count("u2@shop.test") == 1
    status = ledger.rows(CAMPAIGN).set_index("user_id")["status"]
    assert status.to_dict() == {"u1": "sent", "u2": "sending", "u3": "sent"}
    assert ("u2", "skipped", "uncertain") in outcomes.outcomes
    assert ledger.uncertain(CAMPAIGN, now=time.time() + 3600)["user_id"].tolist() == ["u2"]
