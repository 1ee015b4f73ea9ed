"""Email senders: one interface over SMTP and Amazon SES v2, with errors told apart (docs/sending.md, "Senders")."""

from __future__ import annotations

import re
import smtplib
import ssl
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any, Literal

from botocore.exceptions import (
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from dagster import ConfigurableResource, EnvVar
from pydantic import Field, PrivateAttr

from recsys_assets.resources.aws_clients import THROTTLING_CODES, aws_client

SMTP_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
CREDENTIALS = "RECSYS_SMTP_USERNAME / RECSYS_SMTP_PASSWORD"
SES_THROTTLING_CODES = THROTTLING_CODES | {"Throttling"}
# SES errors after which no message can go out: the job stops and says what to do
SES_SETUP_ERRORS = {
    "AccountSuspendedException": "the SES account may no longer send email; see the SES console's account dashboard",
    "SendingPausedException": "sending is paused for the account or the configuration set: resume it in the SES "
    "console (or `aws sesv2 put-account-sending-attributes --sending-enabled`) once the cause is fixed",
    "MailFromDomainNotVerifiedException": "the custom MAIL FROM domain of the sender is not verified: publish its MX "
    "record, or set its behaviour on MX failure to UseDefaultValue",
    "NotFoundException": "a resource named in the request does not exist: check RECSYS_SES_CONFIGURATION_SET",
    "AccessDeniedException": "the credentials may not call SES v2 SendEmail and GetAccount: allow ses:SendEmail "
    "and ses:GetAccount",
    "UnrecognizedClientException": "the AWS credentials are not valid",
    "InvalidClientTokenId": "the AWS credentials are not valid",
    "ExpiredTokenException": "the AWS session token expired: renew the credentials",
    "SignatureDoesNotMatch": "the AWS secret key does not match the access key",
}
SES_DAILY_QUOTA = "Daily message quota exceeded"


class SendError(Exception):
    """A message that did not go out; `reason` is a short, countable cause ("smtp 550", "MessageRejected")."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class TransientSendError(SendError):
    """Try again later, with backoff: a 4xx reply, throttling, a dropped connection or a timeout."""


class PermanentSendError(SendError):
    """This message or address will not be accepted: record it, never retry (a 5xx reply, MessageRejected)."""


class UncertainSendError(SendError):
    """The message may or may not have left (the connection dropped during DATA): never retried on its own; its
    claim stays "sending", so `recsys send --resend-uncertain` decides."""


class SenderSetupError(SendError):
    """No message can be sent until a setting or the account is fixed; the message says what to do."""


@dataclass(frozen=True)
class SendQuota:
    """What the provider accepts; None where it states no limit. `sent_last_day`: what it counts as sent in the
    last 24 hours (None where it does not say)."""

    max_per_second: float | None
    max_per_day: int | None
    sent_last_day: int | None = None


class SendSession(ABC):
    """An open line to the provider; one thread uses one session."""

    @abstractmethod
    def send(self, message: bytes, from_address: str, to_address: str) -> str:
        """Send `message` (an RFC 5322 message) in the envelope `from_address` -> `to_address`; returns the
        provider's message id (SMTP: the message's Message-ID). Raises TransientSendError, PermanentSendError or
        SenderSetupError."""


class EmailSender(ConfigurableResource, ABC):
    """Delivers packaged emails; `session()` opens a connection (checking the settings), `quota()` the limits."""

    @abstractmethod
    def session(self) -> AbstractContextManager[SendSession]:
        """An open session (closed on exit); a setting or account that cannot send raises SenderSetupError here."""

    @abstractmethod
    def quota(self) -> SendQuota: ...


class SmtpEmailSender(EmailSender):
    """An SMTP submission server; a session keeps one connection, reconnecting once when it dropped."""

    host: str = Field(default="localhost", description="SMTP server's host name.")
    port: int = Field(default=0, ge=0, description="SMTP server's port; 0 for the security's: 25, 587 or 465.")
    security: Literal["none", "starttls", "tls"] = Field(
        default="starttls",
        description="'starttls' (port 587: refused when the server offers none), 'tls' (implicit TLS, port 465) or "
        "'none' (a local relay only). Certificates are verified against the system's CAs, or SSL_CERT_FILE.",
    )
    username: str = Field(default="", description="AUTH login; empty to send without AUTH.")
    password: str = Field(default="", description="AUTH password: EnvVar('RECSYS_SMTP_PASSWORD').")
    timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for the server, per command.")

    def quota(self) -> SendQuota:
        return SendQuota(max_per_second=None, max_per_day=None)

    @contextmanager
    def session(self) -> Iterator[SendSession]:
        session = SmtpSendSession(self)
        try:
            yield session
        finally:
            session.close()

    def address(self) -> str:
        return f"{self.host}:{self.port or SMTP_DEFAULT_PORTS[self.security]}"

    def connect(self, starting: bool) -> smtplib.SMTP:
        """A connection, past TLS and AUTH. Unreachable: SenderSetupError when `starting`, else TransientSendError."""
        port = self.port or SMTP_DEFAULT_PORTS[self.security]
        context = ssl.create_default_context()  # per connection: it reads SSL_CERT_FILE when made
        unreachable = SenderSetupError if starting else TransientSendError
        try:
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, port, timeout=self.timeout)
        except ssl.SSLError as error:
            raise self._tls_failed(error) from error
        except ConnectionRefusedError as error:
            raise unreachable(
                f"{self.address()} refuses connections: check RECSYS_SMTP_HOST and RECSYS_SMTP_PORT and that the "
                "server runs",
                "connection refused",
            ) from error
        except (OSError, smtplib.SMTPException) as error:
            hint = "" if self.security == "tls" else " (implicit TLS, as on port 465, needs RECSYS_SMTP_SECURITY=tls)"
            raise unreachable(
                f"no SMTP greeting from {self.address()} within {self.timeout:g} s: {error}{hint}; check "
                "RECSYS_SMTP_HOST and RECSYS_SMTP_PORT",
                "unreachable",
            ) from error
        try:
            self._secure_and_log_in(smtp, context)
        except TransientSendError as error:
            smtp.close()
            if starting:
                raise SenderSetupError(f"{error}; the session could not start", error.reason) from error
            raise
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _secure_and_log_in(self, smtp: smtplib.SMTP, context: ssl.SSLContext) -> None:
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise SenderSetupError(
                        f"{self.address()} does not offer STARTTLS, and RECSYS_SMTP_SECURITY=starttls never sends in "
                        "clear text: use the server's submission port (587), or RECSYS_SMTP_SECURITY=tls for port 465",
                        "no STARTTLS",
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, resolved(self.password))
        except smtplib.SMTPAuthenticationError as error:
            raise SenderSetupError(
                f"{self.address()} refuses the login {self.username!r}: {error.smtp_code} {_text(error.smtp_error)}; "
                f"check {CREDENTIALS}",
                f"smtp {error.smtp_code}",
            ) from error
        except smtplib.SMTPException as error:
            if isinstance(error, smtplib.SMTPServerDisconnected):
                raise TransientSendError(f"{self.address()} closed the connection: {error}", "dropped") from error
            if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code in (421, 454):
                raise TransientSendError(
                    f"{self.address()}: {error.smtp_code} {_text(error.smtp_error)}", f"smtp {error.smtp_code}"
                ) from error
            raise SenderSetupError(
                f"{self.address()} cannot start the session with {CREDENTIALS} and RECSYS_SMTP_SECURITY="
                f"{self.security}: {error} (AUTH usually needs TLS: starttls on 587 or tls on 465)",
                "smtp setup",
            ) from error
        except ssl.SSLError as error:
            raise self._tls_failed(error) from error
        except OSError as error:
            raise TransientSendError(f"{self.address()} dropped the connection: {error}", "dropped") from error

    def _tls_failed(self, error: ssl.SSLError) -> SenderSetupError:
        return SenderSetupError(
            f"TLS with {self.address()} failed: {error}; check RECSYS_SMTP_SECURITY (tls for port 465, starttls for "
            "587) and the server's certificate (a private CA goes in SSL_CERT_FILE)",
            "tls",
        )


def wire_form(message: bytes) -> bytes:
    """`message` with CRLF line ends, as SMTP and SES take it (a packaged .eml has LF)."""
    return re.sub(rb"\r?\n", b"\r\n", message)


def resolved(value: str) -> str:
    """An EnvVar's value (a resource used outside a run keeps the EnvVar itself), else the value."""
    return value.get_value() or "" if isinstance(value, EnvVar) else value


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class SmtpSendSession(SendSession):
    """One SMTP connection: MAIL, RCPT and DATA per message, RSET after a refusal."""

    def __init__(self, sender: SmtpEmailSender):
        self._sender = sender
        self._smtp: smtplib.SMTP | None = sender.connect(starting=True)

    def send(self, message: bytes, from_address: str, to_address: str) -> str:
        wire = wire_form(message)
        head = wire.split(b"\r\n\r\n", 1)[0]
        options = self._mail_options(head, wire, from_address, to_address)
        try:
            self._transmit(wire, from_address, to_address, options)
        except _DroppedBeforeData:
            # nothing of this message reached the server: reconnect once and send it again
            self._transmit(wire, from_address, to_address, options, reconnected=True)
        return BytesHeaderParser(policy=compat32).parsebytes(head).get("Message-ID", "").strip()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _transmit(
        self, message: bytes, from_address: str, to_address: str, options: list[str], reconnected: bool = False
    ) -> None:
        if self._smtp is None or reconnected:
            self._drop()
            self._smtp = self._sender.connect(starting=False)
        smtp = self._smtp
        if "SMTPUTF8" in options and not smtp.has_extn("smtputf8"):
            raise PermanentSendError(
                f"{self._sender.address()} does not offer SMTPUTF8, which the address {to_address} or the message's "
                "headers need",
                "no SMTPUTF8",
            )
        try:
            code, reply = smtp.mail(from_address, options)
            if code == 421 and not reconnected:
                raise _DroppedBeforeData
            self._check(code, reply, "MAIL FROM", from_address)
            code, reply = smtp.rcpt(to_address)
            self._check(code, reply, "RCPT TO", to_address)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            if not reconnected:
                raise _DroppedBeforeData from error
            raise TransientSendError(
                f"{self._sender.address()} dropped the connection again after a reconnect: {error}", "dropped"
            ) from error
        try:
            code, reply = smtp.data(message)
        except smtplib.SMTPDataError as error:
            code, reply = error.smtp_code, error.smtp_error
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            raise UncertainSendError(
                f"{self._sender.address()} dropped the connection during DATA to {to_address}: {error}; the message "
                "may have been delivered (its Message-ID lets the server deduplicate a resend)",
                "dropped",
            ) from error
        self._check(code, reply, "DATA", to_address)

    @staticmethod
    def _mail_options(head: bytes, message: bytes, from_address: str, to_address: str) -> list[str]:
        """SMTPUTF8 only for a non-ASCII address or header; BODY=8BITMIME for any 8-bit content."""
        utf8 = ["SMTPUTF8"] if not (from_address.isascii() and to_address.isascii() and head.isascii()) else []
        return utf8 + (["BODY=8BITMIME"] if not message.isascii() else [])

    def _check(self, code: int, reply: bytes | str, command: str, address: str) -> None:
        """Raise the error a refused command means, after RSET so the connection takes the next message."""
        if 200 <= code < 300:
            return
        self._reset()
        text = f"{self._sender.address()} answered {command} {address} with {code} {_text(reply)}"
        if code == 530 or (command == "MAIL FROM" and 500 <= code < 600):
            raise SenderSetupError(
                f"{text}: the server will not take mail from this sender; check RECSYS_FROM and {CREDENTIALS}",
                f"smtp {code}",
            )
        if 500 <= code < 600:
            raise PermanentSendError(text, f"smtp {code}")
        raise TransientSendError(text, f"smtp {code}")

    def _reset(self) -> None:
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None


class _DroppedBeforeData(Exception):
    """The connection was gone before the message's DATA: safe to send again on a new one."""


class SesEmailSender(EmailSender):
    """Amazon SES v2 SendEmail with raw content; GetAccount for the quota and the sandbox."""

    region: str = Field(default="", description="AWS region; empty for AWS_REGION / AWS_DEFAULT_REGION.")
    configuration_set: str = Field(
        default="", description="Configuration set that publishes bounces and complaints; empty for none."
    )
    allow_sandbox: bool = Field(
        default=False, description="Send from a sandbox account (to verified addresses only), for a test campaign."
    )
    _clients: dict = PrivateAttr(default_factory=dict)

    def client(self, purpose: Literal["send", "account"] = "send") -> Any:
        """The sesv2 client for sending (no retries of its own: a SendEmail resent after a lost answer would go out
        twice, so the caller retries and the ledger counts), or for account calls (the project's retries)."""
        if purpose not in self._clients:
            attempts = {"max_attempts": 1} if purpose == "send" else {}
            self._clients[purpose] = aws_client("sesv2", self.region or None, **attempts)
        return self._clients[purpose]

    def account(self) -> dict:
        """GetAccount's answer; what keeps the account from sending raises SenderSetupError."""
        try:
            return self.client("account").get_account()
        except (ClientError, NoCredentialsError, PartialCredentialsError, NoRegionError) as error:
            raise ses_error(error) from error

    def quota(self) -> SendQuota:
        quota = self.account()["SendQuota"]
        per_day = int(quota.get("Max24HourSend", -1))
        return SendQuota(
            max_per_second=float(quota["MaxSendRate"]) if "MaxSendRate" in quota else None,
            max_per_day=per_day if per_day >= 0 else None,
            sent_last_day=int(quota["SentLast24Hours"]) if "SentLast24Hours" in quota else None,
        )

    @contextmanager
    def session(self) -> Iterator[SendSession]:
        account = self.account()
        if not account.get("SendingEnabled", True) or account.get("EnforcementStatus") == "SHUTDOWN":
            raise SenderSetupError(
                f"the SES account may not send (enforcement status {account.get('EnforcementStatus', '?')}): see the "
                "SES console's reputation dashboard",
                "sending disabled",
            )
        if not account.get("ProductionAccessEnabled", False) and not self.allow_sandbox:
            raise SenderSetupError(
                "the SES account is in the sandbox: only verified addresses can receive, at most 200 a day. Request "
                "production access (SES console, Account dashboard, 'Request production access', or `aws sesv2 "
                "put-account-details --production-access-enabled ...`), or allow the sandbox for a test campaign",
                "sandbox",
            )
        yield SesSendSession(self.client("send"), self.configuration_set)


class SesSendSession(SendSession):
    """SES v2 SendEmail calls through one client (boto3 clients are thread-safe)."""

    def __init__(self, client: Any, configuration_set: str):
        self._client = client
        self._configuration = {"ConfigurationSetName": configuration_set} if configuration_set else {}

    def send(self, message: bytes, from_address: str, to_address: str) -> str:
        try:
            response = self._client.send_email(
                FromEmailAddress=from_address,
                Destination={"ToAddresses": [to_address]},
                Content={"Raw": {"Data": wire_form(message)}},
                **self._configuration,
            )
        except (ClientError, NoCredentialsError, PartialCredentialsError, NoRegionError) as error:
            raise ses_error(error, to_address) from error
        except (BotocoreConnectionError, HTTPClientError) as error:
            raise TransientSendError(
                f"SES did not answer SendEmail to {to_address}: {error}; the message may have been delivered",
                "unreachable",
            ) from error
        return response["MessageId"]


def ses_error(error: Exception, to_address: str = "") -> SendError:
    """The SendError a boto3 error of SES means: throttling and server errors transient, a rejected message
    permanent, the account and credentials setup errors."""
    if not isinstance(error, ClientError):
        return SenderSetupError(f"no AWS credentials or region for SES: {error}", "credentials")
    code = error.response.get("Error", {}).get("Code", "")
    text = f"SES {code}: {error.response.get('Error', {}).get('Message', '')}"
    if SES_DAILY_QUOTA.lower() in text.lower():
        return SenderSetupError(
            f"{text}; the rest waits for the 24-hour window to pass, or for a higher quota (SES console, Service "
            "quotas)",
            "daily quota",
        )
    if code in SES_SETUP_ERRORS:
        return SenderSetupError(f"{text}; {SES_SETUP_ERRORS[code]}", code)
    if code in SES_THROTTLING_CODES or code == "LimitExceededException":
        return TransientSendError(text, code)
    if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400) >= 500:
        return TransientSendError(text, code or "server error")
    return PermanentSendError(f"{text} (to {to_address})" if to_address else text, code or "rejected")
