"""Sending a campaign end to end: the send job and `recsys send` against a real SMTP server on 127.0.0.1 (aiosmtpd,
started here) and against SES in moto: once per customer, only to who may be written to, never twice."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from email import message_from_bytes, message_from_string
from email.utils import parseaddr
from pathlib import Path

import boto3
import pandas as pd
import pytest

from recsys_assets.cli import main
from recsys_assets.cli.send import format_report, send_campaign
from recsys_assets.defs.marketing.assets import email_folder
from recsys_assets.emails.frame import Brand
from recsys_assets.emails.render import email_filename
from recsys_assets.environment import RunOptions
from recsys_assets.resources.email_sender import SenderSetupError, SesEmailSender, SmtpSendSession
from recsys_assets.resources.email_writer import TemplateEmailWriter
from recsys_assets.resources.io_manager import table_key
from recsys_assets.resources.object_store import LocalObjectStore
from recsys_assets_tests.conftest import EMAIL_DATE, PRODUCTS

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

DOMAIN = "inbox.recsys-tests.net"
SHOP = "Test Shop <news@shop.recsys-tests.net>"
POSTAL = "Test Shop Ltd, 2 Real Road, Testville 12345"
SECRET = "a-test-unsubscribe-secret-of-some-length"
BRAND = Brand(
    sender=SHOP,
    postal_address=POSTAL,
    unsubscribe_url="https://shop.recsys-tests.net/unsubscribe?customer={customer}&token={token}",
    unsubscribe_mailto="unsubscribe@shop.recsys-tests.net",
)
CAMPAIGN = "2026-W50-weekly"
# per customer: (segment, reason the recipients table gives)
CUSTOMERS = {f"u{i:02d}": ("kitchen" if i % 2 else "general", "") for i in range(40)}
CUSTOMERS |= {"u90": ("general", "unsubscribed"), "u91": ("kitchen", "suppressed"), "u92": ("general", "no consent")}


class Inbox:
    """What the SMTP server received: (envelope recipients, message) per DATA; `refuse` maps an address to the
    replies it gets, in order (then 250)."""

    def __init__(self):
        self.messages, self.refuse, self.lock = [], {}, threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for address in envelope.rcpt_tos:
                replies = self.refuse.get(address, [])
                if replies:
                    return replies.pop(0)
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [message["Message-ID"] for _, message in self.messages]

    def recipients(self) -> list[str]:
        with self.lock:
            return [address for addresses, _ in self.messages for address in addresses]


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 (a free port), and what it received; skipped where none can listen."""
    inbox = Inbox()
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 0))
        except OSError as error:
            pytest.skip(f"cannot listen on 127.0.0.1: {error}")
        port = probe.getsockname()[1]
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


@pytest.fixture
def campaign_home(tmp_path, monkeypatch):
    """A home as `recsys run` leaves it: each segment's .eml files (the real writer, to the customers' own addresses
    at a non-reserved domain) and emails table, the recipients and the segments; the brand set for real sending."""
    monkeypatch.setenv("RECSYS_UNSUBSCRIBE_SECRET", SECRET)
    home = tmp_path / "home"
    store = LocalObjectStore(root=str(home))
    users = pd.DataFrame({"user_id": list(CUSTOMERS), "user_name": [f"Name {u}" for u in CUSTOMERS]})
    addresses = pd.Series([f"{u}@{DOMAIN}" for u in CUSTOMERS], index=list(CUSTOMERS))
    recommendations = pd.DataFrame(
        {
            "USER_ID": [u for u in CUSTOMERS for _ in range(2)],
            "RANK": [1, 2] * len(CUSTOMERS),
            "ITEM_ID": ["P1", "P2"] * len(CUSTOMERS),
            "SCORE": [0.9, 0.5] * len(CUSTOMERS),
            "SOURCE": "als",
            "REASON_ITEM_ID": None,
            "REASON_CATEGORY": None,
        }
    )
    writer = TemplateEmailWriter(
        sender=SHOP,
        postal_address=POSTAL,
        unsubscribe_url=BRAND.unsubscribe_url,
        unsubscribe_mailto=BRAND.unsubscribe_mailto,
        unsubscribe_secret=SECRET,
        workers=1,
    )
    written = [e for batch, _ in writer.write(recommendations, PRODUCTS, users, addresses, EMAIL_DATE) for e in batch]
    segments = pd.DataFrame({"user_id": list(CUSTOMERS), "segment": [s for s, _ in CUSTOMERS.values()]})
    for segment, members in segments.groupby("segment"):
        emails = [e for e in written if e.user_id in set(members["user_id"])]
        keys = email_folder(segment) + email_filename(pd.Series([e.user_id for e in emails]))
        for key, email in zip(keys, emails):
            store.write_bytes(key, email.eml)
        table = pd.DataFrame(
            {"user_id": [e.user_id for e in emails], "subject": [e.subject for e in emails], "key": keys.to_numpy()}
        ).assign(status="written", error="")
        store.write_parquet(table_key(["emails"], segment) + ".parquet", table.astype("string"))
        shown = recommendations[recommendations["USER_ID"].isin(members["user_id"])]
        store.write_parquet(table_key(["recommendations"], segment) + ".parquet", shown)
    store.write_parquet(table_key(["customer_segments"]) + ".parquet", segments)
    recipients = pd.DataFrame(
        {"user_id": list(CUSTOMERS), "email": addresses.to_numpy(), "reason": [r for _, r in CUSTOMERS.values()]}
    )
    store.write_parquet(table_key(["recipients"]) + ".parquet", recipients.astype("string"))
    (tmp_path / "inbox").mkdir()
    return home


def options_for(home: Path, inbox: Inbox | None = None, **overrides) -> RunOptions:
    smtp = {"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "smtp_security": "none"} if inbox else {}
    settings = {"home": str(home), "input_location": str(home.parent / "inbox"), "brand": BRAND, "campaign": CAMPAIGN}
    return RunOptions(**settings | smtp | overrides)


def eligible(options: RunOptions) -> set[str]:
    """The customers of CUSTOMERS who may be written to and are not in the campaign's holdout."""
    from recsys_assets.delivery.holdout import in_holdout

    ids = pd.Series([u for u, (_, reason) in CUSTOMERS.items() if reason == ""])
    return set(ids[~in_holdout(options.campaign, ids, options.holdout_share)])


def ledger(home: Path) -> pd.DataFrame:
    with sqlite3.connect(home / "deliveries.sqlite") as connection:
        return pd.read_sql_query("SELECT * FROM deliveries", connection)


def test_every_eligible_customer_gets_exactly_one_message_with_the_compliance_headers(smtp, campaign_home):
    options = options_for(campaign_home, smtp)
    report = send_campaign(options)
    assert sorted(smtp.recipients()) == sorted(f"{u}@{DOMAIN}" for u in eligible(options))
    for _, message in smtp.messages:
        assert message["List-Unsubscribe"].split()[0].startswith("<https://shop.recsys-tests.net/unsubscribe?")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["From"] == SHOP and message["Message-ID"].endswith("@shop.recsys-tests.net>")
    assert len(set(smtp.message_ids())) == len(smtp.messages)
    rows = ledger(campaign_home)
    assert set(rows.loc[rows["status"] == "sent", "user_id"]) == eligible(options)
    held = set(rows.loc[rows["status"] == "holdout", "user_id"])
    assert held and not held & {a.partition("@")[0] for a in smtp.recipients()}
    text = format_report(report)
    assert f"campaign {CAMPAIGN}" in text and "unsubscribed 1" in text and "suppressed 1" in text

    again = send_campaign(options)  # a second send of the campaign sends nothing
    assert len(smtp.messages) == len(eligible(options))
    assert sum(m["outcome_counts"]["sent"] for m in again["segments"].values()) == 0
    assert sum(m["outcome_counts"]["holdout"] for m in again["segments"].values()) == len(held)


def test_a_dry_run_prints_who_would_get_one_and_sends_and_records_nothing(smtp, campaign_home, capsys):
    options = options_for(campaign_home, smtp)
    report = send_campaign(options, dry_run=True)
    assert smtp.messages == []
    assert not (campaign_home / "deliveries.sqlite").exists() or ledger(campaign_home).empty
    assert set(report["would_send"]["user_id"]) == eligible(options)
    assert "would send to u" in format_report(report)


def test_unsubscribed_suppressed_capped_and_holdout_customers_receive_nothing(smtp, campaign_home):
    first = options_for(campaign_home, smtp, campaign="last-week")
    send_campaign(first, segment="kitchen")  # mails the kitchen segment's eligible customers
    mailed = {a.partition("@")[0] for a in smtp.recipients()}
    smtp.messages.clear()
    options = options_for(campaign_home, smtp)
    report = send_campaign(options)
    received = {a.partition("@")[0] for a in smtp.recipients()}
    assert received == eligible(options) - mailed
    assert not received & {"u90", "u91", "u92"}
    skipped = {reason for m in report["segments"].values() for reason in m["skipped_by_reason"]}
    assert {"unsubscribed", "suppressed", "no consent", "frequency cap"} <= skipped


def test_a_4xx_is_retried_and_a_5xx_is_not(smtp, campaign_home):
    options = options_for(campaign_home, smtp)
    later, never = sorted(eligible(options))[:2]
    smtp.refuse = {f"{later}@{DOMAIN}": ["451 4.3.0 try again later"], f"{never}@{DOMAIN}": ["550 5.1.1 no such user"]}
    report = send_campaign(options)
    received = {a.partition("@")[0] for a in smtp.recipients()}
    assert later in received and never not in received
    rows = ledger(campaign_home).set_index("user_id")
    assert rows.loc[later, "status"] == "sent" and rows.loc[later, "attempts"] == 2
    assert rows.loc[never, "status"] == "failed" and rows.loc[never, "attempts"] == 1
    assert sum(m["outcome_counts"]["failed"] for m in report["segments"].values()) == 1


@pytest.mark.parametrize(
    "error, in_flight",
    [(RuntimeError("the sender broke"), 1), (SenderSetupError("the password was refused", "smtp 535"), 0)],
)
def test_a_send_stopped_halfway_delivers_the_rest_when_run_again_and_nobody_twice(
    smtp, campaign_home, monkeypatch, error, in_flight
):
    options = options_for(campaign_home, smtp)
    real_send, calls = SmtpSendSession.send, []

    def failing_send(self, message, from_address, to_address):
        calls.append(to_address)
        if len(calls) == 7:
            raise error
        return real_send(self, message, from_address, to_address)

    monkeypatch.setattr(SmtpSendSession, "send", failing_send)
    with pytest.raises(Exception, match=str(error)):
        send_campaign(options)
    assert len(smtp.messages) == 6
    monkeypatch.setattr(SmtpSendSession, "send", real_send)
    report = send_campaign(options)
    counts = [smtp.recipients().count(f"{u}@{DOMAIN}") for u in eligible(options)]
    # the claims never tried were given back; the one being sent when it broke (if it may have left) is not resent
    assert max(counts) == 1 and counts.count(0) == in_flight
    assert sum(m["skipped_by_reason"].get("being sent", 0) for m in report["segments"].values()) == in_flight


def _send_process(home: Path, inbox: Inbox, rate: str) -> subprocess.Popen:
    """`recsys send` on `home` in a process of its own, at most `rate` messages a second."""
    env = os.environ | {
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "RECSYS_HOME": str(home),
        "RECSYS_INPUT": str(home.parent / "inbox"),
        "RECSYS_CAMPAIGN": CAMPAIGN,
        "RECSYS_FROM": SHOP,
        "RECSYS_POSTAL_ADDRESS": POSTAL,
        "RECSYS_UNSUBSCRIBE_URL": BRAND.unsubscribe_url,
        "RECSYS_UNSUBSCRIBE_MAILTO": BRAND.unsubscribe_mailto,
        "RECSYS_SMTP_HOST": "127.0.0.1",
        "RECSYS_SMTP_PORT": str(inbox.port),
        "RECSYS_SMTP_SECURITY": "none",
        "RECSYS_MAX_SEND_RATE": rate,
    }
    code = "import sys; from recsys_assets.cli import main; sys.argv[0] = 'recsys'; sys.exit(main(['send']))"
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_send_killed_halfway_delivers_the_rest_and_resends_only_its_last_claims(smtp, campaign_home):
    options = options_for(campaign_home, smtp)
    process = _send_process(campaign_home, smtp, rate="8")
    deadline = time.time() + 120
    while len(smtp.messages) < 10 and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = len(smtp.messages)
    assert 10 <= before < len(eligible(options))
    report = send_campaign(options)
    received = smtp.recipients()
    assert len(received) == len(set(received))  # nobody twice
    missing = {f"{u}@{DOMAIN}" for u in eligible(options)} - set(received)
    assert len(missing) <= 8  # at most its last claim batch: a second's worth at 8 a second
    with sqlite3.connect(campaign_home / "deliveries.sqlite") as connection:
        connection.execute("UPDATE deliveries SET lease_until = 0 WHERE status = 'sending'")  # its lease ran out
    send_campaign(options, resend_uncertain=True)
    assert {f"{u}@{DOMAIN}" for u in eligible(options)} == set(smtp.recipients())
    # a message sent twice (the one in flight, if it had left) carries the same Message-ID: a server can drop it
    assert len(set(smtp.message_ids())) == len(eligible(options))
    assert report["segments"]


def test_two_sends_of_one_campaign_at_once_deliver_each_message_once(smtp, campaign_home):
    options = options_for(campaign_home, smtp)
    processes = [_send_process(campaign_home, smtp, rate="1000") for _ in range(2)]
    outputs = [process.communicate(timeout=240) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert sorted(smtp.recipients()) == sorted(f"{u}@{DOMAIN}" for u in eligible(options))


def test_the_demo_postal_address_or_an_example_domain_is_refused_naming_the_setting(smtp, campaign_home, capsys):
    options = options_for(campaign_home, smtp, brand=replace(BRAND, sender="Shop <news@shop.example>"))
    with pytest.raises(Exception, match="RECSYS_FROM"):
        send_campaign(options)
    assert smtp.messages == []
    os.environ["RECSYS_HOME"] = str(campaign_home)
    try:
        assert main(["send", "--campaign", "x"]) == 2  # the demo's postal address: RECSYS_POSTAL_ADDRESS
    finally:
        del os.environ["RECSYS_HOME"]
    assert "RECSYS_POSTAL_ADDRESS" in capsys.readouterr().err


@pytest.fixture
def ses(aws, monkeypatch):
    """SES v2 in moto with the shop's domain verified; GetAccount (which moto lacks) answers a production account."""
    client = boto3.client("sesv2", region_name="us-east-1")
    client.create_email_identity(EmailIdentity="shop.recsys-tests.net")
    account = {
        "SendingEnabled": True,
        "ProductionAccessEnabled": True,
        "EnforcementStatus": "HEALTHY",
        "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 0.0},
    }
    monkeypatch.setattr(SesEmailSender, "account", lambda self: account)
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def ses_recipients(backend) -> list[str]:
    """The To address of every message moto's SES took."""
    return [parseaddr(message_from_string(m.raw_data)["To"])[1] for m in backend.sent_messages]


def test_ses_sends_each_eligible_customer_one_message_and_a_bounce_suppresses_the_address_next_time(ses, campaign_home):
    options = options_for(campaign_home, sender="ses", max_send_rate=1000.0)
    send_campaign(options)
    assert sorted(ses_recipients(ses)) == sorted(f"{u}@{DOMAIN}" for u in eligible(options))
    bounced = sorted(eligible(options))[0]
    notification = {
        "notificationType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": f"{bounced}@{DOMAIN}"}]},
        "mail": {"messageId": "x"},
    }
    envelope = {"Type": "Notification", "Message": json.dumps(notification)}
    (campaign_home.parent / "inbox" / "ses-bounces.json").write_text(json.dumps(envelope))
    # a complaint and a transient bounce arrive through the configuration set's SQS queue
    complained, delayed = sorted(eligible(options))[1:3]
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="ses-notifications")["QueueUrl"]
    for event in (
        {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": f"{complained}@{DOMAIN}"}]}},
        {
            "eventType": "Bounce",
            "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": delayed}]},
        },
    ):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))
    ses.sent_messages.clear()
    nxt = options_for(
        campaign_home,
        sender="ses",
        max_send_rate=1000.0,
        campaign="next-week",
        frequency_cap_days=0.0,
        notification_queue_url=queue,
    )
    report = send_campaign(nxt)
    received = {a.partition("@")[0] for a in ses_recipients(ses)}
    assert received == eligible(nxt) - {bounced, complained}
    assert sum(m["skipped_by_reason"].get("suppressed", 0) for m in report["segments"].values()) == 1 + len(
        {bounced, complained} & eligible(nxt)
    )
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)  # taken off the queue once recorded


def test_the_run_summary_adds_up_each_segments_latest_send():
    from recsys_assets.defs.serving.summary import delivery_counts

    def sent(n, reasons):
        counts = {
            "sent": n,
            "would_send": 0,
            "failed": 1,
            "holdout": 2,
            "skipped": sum(reasons.values()),
            "uncertain": 0,
        }
        return {
            "campaign": CAMPAIGN,
            "outcome_counts": counts,
            "failed_by_reason": {"smtp 550": 1},
            "skipped_by_reason": reasons,
        }

    summary = delivery_counts(
        {"general": sent(5, {"unsubscribed": 2}), "kitchen": sent(3, {"holdout": 0, "unsubscribed": 1})}
    )
    assert (summary["sent"], summary["failed"], summary["holdout"]) == (8, 2, 4)
    assert summary["failed_reasons"] == {"smtp 550": 2} and summary["skipped_reasons"]["unsubscribed"] == 3
    assert summary["segments"]["kitchen"]["campaign"] == CAMPAIGN


@pytest.mark.parametrize("kind", ["sqlite", "dynamodb"])
def test_release_gives_back_only_the_owners_unfinished_claims(kind, tmp_path, aws):
    from recsys_assets.resources.delivery_ledger import DynamoDBDeliveryLedger, SqliteDeliveryLedger

    store = (
        SqliteDeliveryLedger(path=str(tmp_path / "ledger.sqlite"))
        if kind == "sqlite"
        else DynamoDBDeliveryLedger(table_prefix="t_")
    )
    rows = pd.DataFrame({"user_id": ["a", "b", "c"], "email": "", "message_id": "", "status": "sending"})
    store.claim("c1", rows.iloc[:2], "me", 60)
    store.claim("c1", rows.iloc[2:], "other", 60)
    store.finish("c1", "a", "sent")
    assert store.release("c1", pd.Series(["a", "b", "c"]), "me") == 1
    assert sorted(store.rows("c1")["user_id"]) == ["a", "c"]
    assert list(store.claim("c1", rows.iloc[1:2], "next", 60)["user_id"]) == ["b"]


def test_campaign_results_reads_the_lift_of_the_mailed_over_the_holdout_from_later_interactions(smtp, campaign_home):
    from dagster import DagsterInstance

    from recsys_assets.definitions import build_definitions

    options = options_for(campaign_home, smtp)
    send_campaign(options)
    store = LocalObjectStore(root=str(campaign_home))
    rows = ledger(campaign_home)
    mailed = rows.loc[rows["status"] == "sent", "user_id"]
    later = int(rows["sent_at"].max()) + 3600
    bought = pd.DataFrame({"USER_ID": mailed, "ITEM_ID": "P1", "TIMESTAMP": later, "EVENT_TYPE": "purchase"})
    store.write_parquet(table_key(["interactions"]) + ".parquet", bought.assign(EVENT_VALUE=1.0))
    segments = sorted({segment for segment, _ in CUSTOMERS.values()})
    for segment in segments:  # a later run recommends something else: results judge what the emails showed (P1, P2)
        members = [u for u, (s, _) in CUSTOMERS.items() if s == segment]
        store.write_parquet(
            table_key(["recommendations"], segment) + ".parquet",
            pd.DataFrame({"USER_ID": members, "RANK": 1, "ITEM_ID": "P9", "SCORE": 0.9, "SOURCE": "als"}),
        )
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("segments", segments)
        result = build_definitions(options).resolve_job_def("results_job").execute_in_process(instance=instance)
    table = result.output_for_node("campaign_results").set_index("measure")
    assert table.loc["recommended product", "mailed_conversion"] == 1.0
    assert table.loc["recommended product", "holdout_conversion"] == 0.0
    assert table.loc["recommended product", "verdict"].startswith("lift:")
