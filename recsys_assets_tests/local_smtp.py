"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd), with a mailbox that can answer as told."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    mail_options: list[str]


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping what it accepted. Scripted answers: `data_replies` are the answers to the next
    DATAs (then 250), `rcpt_replies` per address, `mail_replies` to the next MAILs; `drop_after_data` closes the
    connection after the n-th DATA accepted (1-based), `drop_in_data` closes it during that DATA, without an answer
    (the message is kept: it arrived)."""

    received: list[Received] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    mail_replies: list[str] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    drop_after_data: set[int] = field(default_factory=set)
    drop_in_data: set[int] = field(default_factory=set)
    connections: int = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        content, options = envelope.original_content, list(envelope.mail_options)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), content, options))
        if len(self.received) in self.drop_in_data:
            server.transport.close()
        elif len(self.received) in self.drop_after_data:
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 2.0.0 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_smtp_server(mailbox: Mailbox, **settings) -> Iterator[int]:
    """An aiosmtpd Controller for `mailbox` on 127.0.0.1 (`settings` go to it); yields its port, or skips the test
    when aiosmtpd is missing or cannot start."""
    controller_module = pytest.importorskip("aiosmtpd.controller")
    port = free_port()
    controller = controller_module.Controller(
        mailbox, hostname="127.0.0.1", port=port, server_hostname="mx.test", ready_timeout=5, **settings
    )
    try:
        controller.start()
    except Exception as error:  # any failure to start means the test cannot run here
        pytest.skip(f"aiosmtpd cannot start on 127.0.0.1: {error}")
    try:
        yield port
    finally:
        controller.stop()
