"""SmtpEmailSender against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl

import pytest
from dagster import EnvVar

from recsys_assets.delivery.pacing import RetryPolicy, call_with_retries
from recsys_assets.resources.email_sender import (
    PermanentSendError,
    SenderSetupError,
    SmtpEmailSender,
    TransientSendError,
    UncertainSendError,
    wire_form,
)
from recsys_assets_tests.local_smtp import Mailbox, free_port, local_smtp_server

FROM = "news@shop.example"
# AUTH without TLS is what the plain-text tests exercise; aiosmtpd warns about it
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def message(n: int, to: str = "") -> bytes:
    """A small message with LF line ends and a line starting with a dot (dot-stuffed on the wire)."""
    to = to or f"c{n}@customers.example"
    return (
        f"From: Shop <{FROM}>\nTo: {to}\nSubject: Picks {n}\nMessage-ID: <m{n}@shop.example>\n"
        f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello {n}\n.leading dot\n..two\n"
    ).encode()


def sender(port: int, **settings) -> SmtpEmailSender:
    return SmtpEmailSender(**{"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5} | settings)


def test_messages_arrive_byte_for_byte_in_their_envelope_over_one_connection():
    mailbox = Mailbox()
    with local_smtp_server(mailbox) as port, sender(port).session() as session:
        ids = [session.send(message(n), FROM, f"c{n}@customers.example") for n in range(3)]
    assert ids == ["<m0@shop.example>", "<m1@shop.example>", "<m2@shop.example>"]
    assert [r.content for r in mailbox.received] == [wire_form(message(n)) for n in range(3)]
    assert [(r.mail_from, r.rcpt_tos) for r in mailbox.received] == [
        (FROM, [f"c{n}@customers.example"]) for n in range(3)
    ]
    assert mailbox.connections == 1
    assert all(r.mail_options == [] for r in mailbox.received)  # no SMTPUTF8 for ASCII


def test_a_message_with_crlf_line_ends_is_sent_unchanged():
    mailbox, crlf = Mailbox(), message(0).replace(b"\n", b"\r\n")
    with local_smtp_server(mailbox) as port, sender(port).session() as session:
        session.send(crlf, FROM, "c0@customers.example")
    assert mailbox.received[0].content == crlf


def test_a_non_ascii_address_is_sent_with_smtputf8():
    mailbox, to = Mailbox(), "jürgen@bücher.example"
    with local_smtp_server(mailbox) as port, sender(port).session() as session:
        session.send(message(0, to), FROM, to)
    assert mailbox.received[0].rcpt_tos == [to]
    assert mailbox.received[0].mail_options == ["SMTPUTF8", "BODY=8BITMIME"]


def test_a_server_without_smtputf8_refuses_a_non_ascii_address_for_good():
    mailbox, to = Mailbox(), "jürgen@bücher.example"
    with local_smtp_server(mailbox, enable_SMTPUTF8=False) as port, sender(port).session() as session:
        with pytest.raises(PermanentSendError, match="SMTPUTF8"):
            session.send(message(0, to), FROM, to)
        session.send(message(1), FROM, "c1@customers.example")
    assert [r.rcpt_tos for r in mailbox.received] == [["c1@customers.example"]]


def authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=(auth_data.login, auth_data.password) == (b"shop", b"s3cret"), handled=False)


def test_auth_logs_in_with_the_password_from_its_environment_variable(monkeypatch):
    monkeypatch.setenv("RECSYS_SMTP_PASSWORD", "s3cret")
    mailbox = Mailbox()
    settings = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    with local_smtp_server(mailbox, **settings) as port:
        with sender(port, username="shop", password=EnvVar("RECSYS_SMTP_PASSWORD")).session() as session:
            session.send(message(0), FROM, "c0@customers.example")
    assert len(mailbox.received) == 1


def test_a_wrong_password_stops_with_the_settings_to_check():
    settings = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    with local_smtp_server(Mailbox(), **settings) as port:
        with pytest.raises(SenderSetupError, match="RECSYS_SMTP_USERNAME / RECSYS_SMTP_PASSWORD") as raised:
            with sender(port, username="shop", password="wrong").session():
                pass
    assert raised.value.reason == "smtp 535"


def test_no_auth_when_the_server_requires_it_stops_the_job():
    settings = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    with local_smtp_server(Mailbox(), **settings) as port, sender(port).session() as session:
        with pytest.raises(SenderSetupError, match="RECSYS_SMTP_USERNAME"):
            session.send(message(0), FROM, "c0@customers.example")


def test_a_451_is_retried_and_the_message_delivered_once():
    mailbox, waits = Mailbox(data_replies=["451 4.3.0 Try again later"]), []
    with local_smtp_server(mailbox) as port, sender(port).session() as session:
        sent = call_with_retries(
            lambda: session.send(message(0), FROM, "c0@customers.example"),
            (TransientSendError,),
            RetryPolicy(attempts=3, base_seconds=1.0),
            sleep=waits.append,
        )
    assert sent == ("<m0@shop.example>", 2) and len(waits) == 1
    assert len(mailbox.received) == 1


def test_a_550_is_permanent_not_retried_and_the_session_goes_on():
    mailbox = Mailbox(rcpt_replies={"gone@customers.example": "550 5.1.1 No such user"})
    attempts = []

    def send_to_gone():
        attempts.append(1)
        return session.send(message(0, "gone@customers.example"), FROM, "gone@customers.example")

    with local_smtp_server(mailbox) as port, sender(port).session() as session:
        with pytest.raises(PermanentSendError, match="550 5.1.1 No such user") as raised:
            call_with_retries(send_to_gone, (TransientSendError,), RetryPolicy(attempts=5), sleep=lambda _: None)
        session.send(message(1), FROM, "c1@customers.example")
    assert len(attempts) == 1 and raised.value.attempts == 1 and raised.value.reason == "smtp 550"
    assert [r.rcpt_tos for r in mailbox.received] == [["c1@customers.example"]]
    assert mailbox.connections == 1


def test_a_refused_sender_address_stops_the_job():
    mailbox = Mailbox(mail_replies=["553 5.7.1 Sender address rejected"])
    with local_smtp_server(mailbox) as port, sender(port).session() as session:
        with pytest.raises(SenderSetupError, match="RECSYS_FROM"):
            session.send(message(0), FROM, "c0@customers.example")


def test_a_connection_dropped_between_messages_is_reconnected_and_nothing_is_lost_or_doubled():
    mailbox = Mailbox(drop_after_data={1})
    with local_smtp_server(mailbox) as port, sender(port).session() as session:
        for n in range(3):
            session.send(message(n), FROM, f"c{n}@customers.example")
    assert [r.rcpt_tos for r in mailbox.received] == [[f"c{n}@customers.example"] for n in range(3)]
    assert mailbox.connections == 2


def test_a_421_closing_answer_to_mail_is_reconnected():
    mailbox = Mailbox(mail_replies=["421 4.3.2 Closing, try again"])
    with local_smtp_server(mailbox) as port, sender(port).session() as session:
        session.send(message(0), FROM, "c0@customers.example")
    assert len(mailbox.received) == 1 and mailbox.connections == 2


def test_a_connection_dropped_during_data_is_uncertain_and_not_resent_by_itself():
    mailbox = Mailbox(drop_in_data={1})
    with local_smtp_server(mailbox) as port, sender(port).session() as session:
        with pytest.raises(UncertainSendError, match="may have been delivered"):
            session.send(message(0), FROM, "c0@customers.example")
        session.send(message(1), FROM, "c1@customers.example")  # the next message reconnects
    assert len(mailbox.received) == 2 and mailbox.connections == 2


def test_a_refused_connection_at_the_start_stops_with_the_settings_to_check():
    with pytest.raises(SenderSetupError, match="RECSYS_SMTP_HOST and RECSYS_SMTP_PORT") as raised:
        with sender(free_port()).session():
            pass
    assert raised.value.reason == "connection refused"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost, and its key: (cert path, key path)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_starttls_verifies_the_certificate_and_auth_goes_over_it(certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    mailbox = Mailbox()
    settings = {"tls_context": server_context(certificate), "require_starttls": True, "authenticator": authenticator}
    with local_smtp_server(mailbox, auth_required=True, **settings) as port:
        with sender(port, security="starttls", username="shop", password="s3cret").session() as session:
            session.send(message(0), FROM, "c0@customers.example")
    assert mailbox.received[0].content == wire_form(message(0))


def test_a_certificate_that_does_not_verify_stops_the_job(certificate):
    settings = {"tls_context": server_context(certificate), "require_starttls": True}
    with local_smtp_server(Mailbox(), **settings) as port:
        with pytest.raises(SenderSetupError, match="TLS with 127.0.0.1") as raised:
            with sender(port, security="starttls").session():
                pass
    assert raised.value.reason == "tls"


def test_starttls_is_never_downgraded_to_clear_text():
    mailbox = Mailbox()
    with local_smtp_server(mailbox) as port:
        with pytest.raises(SenderSetupError, match="does not offer STARTTLS") as raised:
            with sender(port, security="starttls").session():
                pass
    assert raised.value.reason == "no STARTTLS" and mailbox.received == []


def test_implicit_tls(certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    mailbox = Mailbox()
    with local_smtp_server(mailbox, ssl_context=server_context(certificate)) as port:
        with sender(port, security="tls").session() as session:
            session.send(message(0), FROM, "c0@customers.example")
    assert len(mailbox.received) == 1


def test_smtp_states_no_quota():
    quota = SmtpEmailSender().quota()
    assert (quota.max_per_second, quota.max_per_day) == (None, None)
