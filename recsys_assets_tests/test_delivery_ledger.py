"""The delivery ledger: a customer is claimed once per campaign, across processes, crashes and both stores."""

import multiprocessing
import os
import signal
import time

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from recsys_assets.resources.delivery_ledger import (
    LEDGER_COLUMNS,
    DeliveryLedgerError,
    DynamoDBDeliveryLedger,
    SqliteDeliveryLedger,
)

CAMPAIGN = "2026-12-weekly"
HOUR = 3600.0


def claims(count: int, first: int = 0, status: str = "sending") -> pd.DataFrame:
    """Claim rows of customers C<first>.. C<first + count - 1>."""
    numbers = range(first, first + count)
    return pd.DataFrame(
        {
            "user_id": [f"C{n:05d}" for n in numbers],
            "email": [f"c{n}@shop.test" for n in numbers],
            "message_id": [f"<{CAMPAIGN}.C{n:05d}@shop.test>" for n in numbers],
            "status": status,
        }
    )


@pytest.fixture(params=["sqlite", "dynamodb"])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        return SqliteDeliveryLedger(path=str(tmp_path / "profiles.sqlite"))
    request.getfixturevalue("aws")
    return DynamoDBDeliveryLedger(table_prefix="test_")


def test_a_claim_inserts_only_the_customers_without_a_row_of_the_campaign(ledger):
    first = ledger.claim(CAMPAIGN, pd.concat([claims(3), claims(1, first=3, status="holdout")]), "run-1", HOUR)
    second = ledger.claim(CAMPAIGN, claims(4, first=2), "run-2", HOUR)
    other_campaign = ledger.claim("2026-11-weekly", claims(2), "run-3", HOUR)

    assert list(first["user_id"]) == ["C00000", "C00001", "C00002", "C00003"]
    assert list(second["user_id"]) == ["C00004", "C00005"]
    assert list(other_campaign["user_id"]) == ["C00000", "C00001"]
    rows = ledger.rows(CAMPAIGN).sort_values("user_id").reset_index(drop=True)
    assert tuple(rows.columns) == LEDGER_COLUMNS
    assert list(rows["owner"]) == ["run-1"] * 4 + ["run-2"] * 2
    assert list(rows["status"]) == ["sending", "sending", "sending", "holdout", "sending", "sending"]
    assert rows["lease_until"].isna().tolist() == [False, False, False, True, False, False]
    assert (rows["attempts"] == 0).all() and rows["sent_at"].isna().all()
    assert len(ledger.rows()) == 8


def test_finish_records_the_outcome_and_a_customer_never_claimed_is_an_error(ledger):
    ledger.claim(CAMPAIGN, claims(2), "run-1", HOUR)
    ledger.finish(CAMPAIGN, "C00000", "sent", provider_id="ses-1")
    ledger.finish(CAMPAIGN, "C00001", "failed", error="550 no such user", attempts=3)

    rows = ledger.rows(CAMPAIGN).sort_values("user_id").set_index("user_id")
    assert rows.loc["C00000", ["status", "provider_id", "attempts"]].tolist() == ["sent", "ses-1", 1]
    assert rows.loc["C00001", ["status", "error", "attempts"]].tolist() == ["failed", "550 no such user", 3]
    assert rows["sent_at"].notna().tolist() == [True, False]
    assert rows["lease_until"].isna().all()
    with pytest.raises(LookupError, match="no delivery to 'C00009'"):
        ledger.finish(CAMPAIGN, "C00009", "sent")
    with pytest.raises(ValueError, match="sent or failed"):
        ledger.finish(CAMPAIGN, "C00000", "holdout")


def test_mailed_since_lists_sent_and_still_sending_rows_of_every_campaign_but_not_holdout_or_failed(ledger):
    start = time.time()
    ledger.claim("2026-11-weekly", claims(4), "run-1", HOUR)
    ledger.claim(CAMPAIGN, pd.concat([claims(1, first=4), claims(1, first=5, status="holdout")]), "run-2", HOUR)
    ledger.finish("2026-11-weekly", "C00000", "sent")
    ledger.finish("2026-11-weekly", "C00001", "failed", error="550")

    mailed = ledger.mailed_since(start - 1).sort_values("user_id").reset_index(drop=True)
    assert list(mailed.columns) == ["user_id", "email", "campaign", "sent_at"]
    assert list(mailed["user_id"]) == ["C00000", "C00002", "C00003", "C00004"]
    assert list(mailed["campaign"]) == ["2026-11-weekly"] * 3 + [CAMPAIGN]
    assert (mailed["sent_at"] >= start - 1).all()
    assert ledger.mailed_since(time.time() + 1).empty


def test_a_sending_row_past_its_lease_is_uncertain_and_reclaimed_by_one_caller_only(ledger):
    ledger.claim(CAMPAIGN, pd.concat([claims(3), claims(1, first=3, status="holdout")]), "died", 60.0)
    ledger.finish(CAMPAIGN, "C00002", "sent")
    later = time.time() + 120.0

    assert ledger.uncertain(CAMPAIGN).empty  # the lease still runs: its sender may be alive
    assert sorted(ledger.uncertain(CAMPAIGN, now=later)["user_id"]) == ["C00000", "C00001"]
    assert ledger.claim(CAMPAIGN, claims(4), "next-run", HOUR).empty
    taken = ledger.reclaim_uncertain(CAMPAIGN, "resender", 60.0, now=later)
    assert sorted(taken["user_id"]) == ["C00000", "C00001"]
    assert set(taken["owner"]) == {"resender"} and (taken["lease_until"] == later + 60.0).all()
    assert ledger.reclaim_uncertain(CAMPAIGN, "another", 60.0, now=later).empty
    assert ledger.rows(CAMPAIGN).set_index("user_id")["message_id"]["C00000"] == f"<{CAMPAIGN}.C00000@shop.test>"


def test_a_claim_taken_over_past_its_lease_cannot_be_renewed_by_its_first_sender(ledger):
    ledger.claim(CAMPAIGN, claims(2), "slow", 60.0)
    assert ledger.renew(CAMPAIGN, "C00000", "slow", 60.0)  # still its own: the lease runs on
    later = time.time() + 120.0
    taken = ledger.reclaim_uncertain(CAMPAIGN, "resender", 60.0, now=later)
    assert sorted(taken["user_id"]) == ["C00000", "C00001"]
    assert not ledger.renew(CAMPAIGN, "C00001", "slow", 60.0)  # taken over: the slow sender must not send it
    assert ledger.renew(CAMPAIGN, "C00001", "resender", 60.0)
    ledger.finish(CAMPAIGN, "C00000", "sent")
    assert not ledger.renew(CAMPAIGN, "C00000", "resender", 60.0)  # finished: nothing to renew


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (claims(2).drop(columns="message_id"), "lack the columns message_id"),
        (claims(2, status="sent"), "status other than holdout or sending"),
        (claims(2).assign(user_id=["C1", ""]), "1 claim rows have no user_id"),
        (pd.concat([claims(2), claims(1)]), "1 customers are in the claim twice, e.g. 'C00000'"),
    ],
)
def test_a_claim_of_malformed_rows_is_refused_before_anything_is_written(tmp_path, rows, message):
    ledger = SqliteDeliveryLedger(path=str(tmp_path / "profiles.sqlite"))
    with pytest.raises(ValueError, match=message):
        ledger.claim(CAMPAIGN, rows, "run-1", HOUR)
    assert ledger.rows().empty


# SQLite across processes: spawned children (no inherited connection), started together at a barrier.
def _claim_in_chunks(path: str, owner: str, reverse: bool, start, results) -> None:
    ledger = SqliteDeliveryLedger(path=path)
    rows = claims(10_000)
    rows = rows.iloc[::-1] if reverse else rows
    start.wait()
    taken = []
    for first in range(0, len(rows), 500):
        taken += ledger.claim(CAMPAIGN, rows.iloc[first : first + 500], owner, HOUR)["user_id"].tolist()
    results.put((owner, taken))


def _claim_and_wait(path: str, count: int, claimed) -> None:
    ledger = SqliteDeliveryLedger(path=path)
    claimed.put("ready")
    ledger.claim(CAMPAIGN, claims(count), "doomed", 1.0)
    claimed.put("claimed")
    time.sleep(600)


def test_two_processes_claiming_the_same_10k_customers_at_once_get_each_customer_exactly_once(tmp_path):
    path = str(tmp_path / "profiles.sqlite")
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    senders = [
        context.Process(target=_claim_in_chunks, args=(path, owner, reverse, start, results))
        for owner, reverse in (("forward", False), ("backward", True))
    ]
    for sender in senders:
        sender.start()
    taken = dict(results.get(timeout=120) for _ in senders)
    for sender in senders:
        sender.join(timeout=30)

    forward, backward = set(taken["forward"]), set(taken["backward"])
    assert len(taken["forward"]) + len(taken["backward"]) == 10_000
    assert forward | backward == set(claims(10_000)["user_id"]) and not forward & backward
    assert forward and backward  # they did race: each won some customers
    owners = SqliteDeliveryLedger(path=path).rows(CAMPAIGN).set_index("user_id")["owner"]
    assert len(owners) == 10_000 and set(owners[owners == "forward"].index) == forward


def _kill(process) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=30)
    assert process.exitcode == -signal.SIGKILL


def test_a_process_killed_after_claiming_leaves_its_rows_sending_uncertain_and_nobody_claims_them(tmp_path):
    path = str(tmp_path / "profiles.sqlite")
    context = multiprocessing.get_context("spawn")
    claimed = context.Queue()
    sender = context.Process(target=_claim_and_wait, args=(path, 100, claimed))
    sender.start()
    assert [claimed.get(timeout=60), claimed.get(timeout=60)] == ["ready", "claimed"]
    _kill(sender)

    ledger = SqliteDeliveryLedger(path=path)
    assert set(ledger.rows(CAMPAIGN)["status"]) == {"sending"}
    assert (
        ledger.claim(CAMPAIGN, claims(150), "next-run", HOUR)["user_id"].tolist()
        == claims(50, first=100)["user_id"].tolist()
    )
    assert len(ledger.uncertain(CAMPAIGN, now=time.time() + 5)) == 100


def test_a_process_killed_in_the_middle_of_a_claim_leaves_all_of_it_or_none_and_no_lock(tmp_path):
    path = str(tmp_path / "profiles.sqlite")
    context = multiprocessing.get_context("spawn")
    claimed = context.Queue()
    sender = context.Process(target=_claim_and_wait, args=(path, 50_000, claimed))
    sender.start()
    assert claimed.get(timeout=60) == "ready"
    time.sleep(0.3)  # into the claim's transaction, or past it on a fast machine: either way all or nothing
    _kill(sender)

    ledger = SqliteDeliveryLedger(path=path, busy_timeout_seconds=5.0)
    assert len(ledger.rows(CAMPAIGN)) in (0, 50_000)
    assert len(ledger.claim("2027-01-weekly", claims(10), "next-run", HOUR)) == 10


# DynamoDB: what moto cannot show, a write throttled past boto3's retries.
def test_a_dynamodb_claim_that_fails_says_the_claimed_rows_stay_uncertain(aws, monkeypatch):
    ledger = DynamoDBDeliveryLedger(table_prefix="test_", write_concurrency=1)
    client = ledger.client()
    real_put = client.put_item

    def throttled_for_c00001(**request):
        if request["Item"]["user_id"]["S"] == "C00001":
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, "PutItem")
        return real_put(**request)

    monkeypatch.setattr(client, "put_item", throttled_for_c00001)
    with pytest.raises(DeliveryLedgerError, match="1 of 3 claims failed .*the 2 that succeeded stay 'sending'"):
        ledger.claim(CAMPAIGN, claims(3), "run-1", HOUR)
    assert sorted(ledger.rows(CAMPAIGN)["user_id"]) == ["C00000", "C00002"]


def test_a_corrupt_ledger_file_stops_with_a_message_that_says_not_to_start_afresh(tmp_path):
    path = tmp_path / "profiles.sqlite"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(DeliveryLedgerError, match="file is not a database; .*restore the file from a backup"):
        SqliteDeliveryLedger(path=str(path)).rows()
