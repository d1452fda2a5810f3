"""The SMTP sink: aiosmtpd on 127.0.0.1 that accepts every message and keeps it.

    with running_smtp_sink() as sink:      (or the ``smtp_sink`` fixture)
        ... send to sink.host, sink.port ...
        sink.envelopes   -> [Envelope(mail_from, rcpt_tos, data)]   raw bytes as received
        sink.messages    -> [email.message.EmailMessage]            the same, parsed
        sink.wait_for(2) -> the parsed messages once two have come (or AssertionError)

For a server that misbehaves on purpose, see ``tests.support.faultsmtp``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any, NamedTuple

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


class Envelope(NamedTuple):
    """One accepted message: the RFC 5321 envelope and the message bytes (RFC 5322)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=default)


class SmtpSink:
    """The aiosmtpd handler and the record of what it accepted."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.envelopes: list[Envelope] = []
        self._parsed: list[EmailMessage] = []
        self._arrived = threading.Condition()

    @property
    def messages(self) -> list[EmailMessage]:
        """The accepted messages, parsed once each (the same objects on every call)."""
        with self._arrived:
            return list(self._parsed)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        """Offer PIPELINING (RFC 2920), as Postfix does; aiosmtpd reads grouped commands."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        received = Envelope(
            str(envelope.mail_from), list(envelope.rcpt_tos), bytes(envelope.original_content)
        )
        parsed = received.message
        with self._arrived:
            self.envelopes.append(received)
            self._parsed.append(parsed)
            self._arrived.notify_all()
        return "250 OK queued"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """Block until ``count`` messages have been accepted (woken by each arrival)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.envelopes) >= count, timeout):
                raise AssertionError(f"expected {count} emails, got {len(self.envelopes)}")
        return self.messages


@contextmanager
def running_smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
