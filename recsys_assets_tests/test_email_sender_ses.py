"""SesEmailSender: SES v2 SendEmail through moto; GetAccount (which moto lacks) and SES's errors through Stubber."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber

from recsys_assets.delivery.pacing import RetryPolicy, call_with_retries
from recsys_assets.resources.email_sender import (
    PermanentSendError,
    SenderSetupError,
    SendQuota,
    SesEmailSender,
    TransientSendError,
    wire_form,
)

FROM = "news@shop.example"
MESSAGE = (
    b"From: Shop <news@shop.example>\nTo: c1@customers.example\nSubject: Picks\nMessage-ID: <m1@shop.example>\n\nHi\n"
)
PRODUCTION = {
    "ProductionAccessEnabled": True,
    "SendingEnabled": True,
    "EnforcementStatus": "HEALTHY",
    "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 12.0},
}


def with_account(sender: SesEmailSender, account: dict) -> Stubber:
    """`sender`'s GetAccount answers `account` (moto does not implement GetAccount)."""
    stubber = Stubber(sender.client("account"))
    stubber.add_response("get_account", account, {})
    stubber.activate()
    return stubber


def sent_messages() -> list:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages


def test_messages_go_out_as_raw_content_to_the_envelope_address(aws):
    sender = SesEmailSender(configuration_set="campaigns")
    sender.client().create_email_identity(EmailIdentity="shop.example")
    with_account(sender, PRODUCTION)
    with sender.session() as session:
        message_id = session.send(MESSAGE, FROM, "c1@customers.example")
    [sent] = sent_messages()
    assert sent.id == message_id
    assert sent.source == FROM and "c1@customers.example" in sent.destinations
    assert sent.raw_data == wire_form(MESSAGE).decode()


def test_the_request_names_the_configuration_set(aws):
    sender = SesEmailSender(configuration_set="campaigns")
    with_account(sender, PRODUCTION)
    expected = {
        "FromEmailAddress": FROM,
        "Destination": {"ToAddresses": ["c1@customers.example"]},
        "Content": {"Raw": {"Data": wire_form(MESSAGE)}},
        "ConfigurationSetName": "campaigns",
    }
    with Stubber(sender.client("send")) as stubber, sender.session() as session:
        stubber.add_response("send_email", {"MessageId": "ses-1"}, expected)
        assert session.send(MESSAGE, FROM, "c1@customers.example") == "ses-1"


def test_an_unverified_sender_is_refused_by_moto_as_ses_would(aws):
    sender = SesEmailSender()
    with_account(sender, PRODUCTION)
    with sender.session() as session, pytest.raises(PermanentSendError, match="MessageRejected") as raised:
        session.send(MESSAGE, FROM, "c1@customers.example")
    assert raised.value.reason == "MessageRejected"


def stubbed_send(sender: SesEmailSender, *errors: tuple[str, str]) -> Stubber:
    """The send client answers each (code, message) as an error in turn, then succeeds."""
    stubber = Stubber(sender.client("send"))
    for code, text in errors:
        stubber.add_client_error("send_email", code, text, 429 if "Many" in code or "Throttl" in code else 400)
    stubber.add_response(
        "send_email", {"MessageId": "ses-ok"}, {"FromEmailAddress": FROM, "Destination": ANY, "Content": ANY}
    )
    stubber.activate()
    return stubber


@pytest.mark.parametrize("code", ["TooManyRequestsException", "Throttling", "ThrottlingException"])
def test_throttling_is_transient_and_retried(aws, code):
    sender, waits = SesEmailSender(), []
    with_account(sender, PRODUCTION)
    stubbed_send(sender, (code, "Maximum sending rate exceeded."))
    with sender.session() as session:
        sent = call_with_retries(
            lambda: session.send(MESSAGE, FROM, "c1@customers.example"),
            (TransientSendError,),
            RetryPolicy(attempts=3),
            sleep=waits.append,
        )
    assert sent == ("ses-ok", 2) and len(waits) == 1


def test_a_rejected_message_is_permanent_and_not_retried(aws):
    sender = SesEmailSender()
    with_account(sender, PRODUCTION)
    stubbed_send(sender, ("MessageRejected", "Email address is not verified."))
    with sender.session() as session, pytest.raises(PermanentSendError, match="not verified") as raised:
        call_with_retries(
            lambda: session.send(MESSAGE, FROM, "c1@customers.example"),
            (TransientSendError,),
            RetryPolicy(attempts=3),
            sleep=lambda _: None,
        )
    assert raised.value.attempts == 1 and "c1@customers.example" in str(raised.value)


@pytest.mark.parametrize(
    "code, text, advice",
    [
        ("AccountSuspendedException", "suspended", "may no longer send"),
        ("SendingPausedException", "paused", "resume it"),
        ("MailFromDomainNotVerifiedException", "not verified", "MX"),
        ("NotFoundException", "configuration set does not exist", "RECSYS_SES_CONFIGURATION_SET"),
        ("Throttling", "Daily message quota exceeded.", "24-hour window"),
    ],
)
def test_account_problems_stop_the_job_with_what_to_do(aws, code, text, advice):
    sender = SesEmailSender()
    with_account(sender, PRODUCTION)
    stubbed_send(sender, (code, text))
    with sender.session() as session, pytest.raises(SenderSetupError, match=advice):
        session.send(MESSAGE, FROM, "c1@customers.example")


def test_the_sandbox_stops_the_job_saying_how_to_leave_it(aws):
    sender = SesEmailSender()
    with_account(sender, PRODUCTION | {"ProductionAccessEnabled": False})
    with pytest.raises(SenderSetupError, match="only verified addresses can receive.*production access") as raised:
        with sender.session():
            pass
    assert raised.value.reason == "sandbox"


def test_a_test_campaign_may_send_from_the_sandbox(aws):
    sender = SesEmailSender(allow_sandbox=True)
    sender.client().create_email_identity(EmailIdentity="shop.example")
    with_account(sender, PRODUCTION | {"ProductionAccessEnabled": False})
    with sender.session() as session:
        session.send(MESSAGE, FROM, "c1@customers.example")
    assert len(sent_messages()) == 1


def test_an_account_that_may_not_send_stops_the_job(aws):
    sender = SesEmailSender()
    with_account(sender, PRODUCTION | {"SendingEnabled": False, "EnforcementStatus": "SHUTDOWN"})
    with pytest.raises(SenderSetupError, match="SHUTDOWN"), sender.session():
        pass


def test_the_quota_is_the_accounts_rate_and_24_hour_limit(aws):
    sender = SesEmailSender()
    with_account(sender, PRODUCTION)
    assert sender.quota() == SendQuota(max_per_second=14.0, max_per_day=50000, sent_last_day=12)


def test_an_unlimited_24_hour_quota_is_none(aws):
    sender = SesEmailSender()
    with_account(sender, PRODUCTION | {"SendQuota": {"Max24HourSend": -1.0, "MaxSendRate": 500.0}})
    assert sender.quota() == SendQuota(max_per_second=500.0, max_per_day=None)


@pytest.mark.parametrize(
    "error",
    [EndpointConnectionError(endpoint_url="https://email.example"), ReadTimeoutError(endpoint_url="https://x")],
)
def test_no_answer_from_ses_is_transient(aws, monkeypatch, error):
    sender = SesEmailSender()
    with_account(sender, PRODUCTION)

    def unanswered(**_):
        raise error

    monkeypatch.setattr(sender.client("send"), "send_email", unanswered)
    with sender.session() as session, pytest.raises(TransientSendError, match="may have been delivered"):
        session.send(MESSAGE, FROM, "c1@customers.example")
