"""``doctor --probe-plus`` against a real Dovecot, behind a small MTA (aiosmtpd) that delivers
into it by IMAP APPEND, as a mail host with or without ``recipient_delimiter = +``."""

from __future__ import annotations

import datetime as dt
import imaplib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from newsletter.cli import main
from newsletter.config import Settings
from newsletter.ops.plus_probe import check_plus_address
from tests.inbox.dovecot import Dovecot
from tests.support.ports import free_port

pytestmark = pytest.mark.dovecot
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


class Mta:
    """Accepts mail for papers@example.org (and papers+tag@ when ``plus``) and appends it to
    the Dovecot INBOX with a Delivered-To header; refuses anything else 550 5.1.1."""

    def __init__(self, dovecot: Dovecot, plus: bool) -> None:
        self.dovecot, self.plus = dovecot, plus

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        local, _, domain = address.partition("@")
        base, plus, _ = local.partition("+")
        if domain != "example.org" or base != "papers" or (plus and not self.plus):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            data = f"Delivered-To: {rcpt}\r\n".encode() + bytes(envelope.original_content)
            with imaplib.IMAP4(self.dovecot.host, self.dovecot.port) as imap:
                imap.login(self.dovecot.username, self.dovecot.password)
                imap.append("INBOX", "", imaplib.Time2Internaldate(time.time()), data)
        return "250 delivered"


@pytest.fixture(params=[True, False], ids=["plus", "no-plus"])
def mta(request: pytest.FixtureRequest, mailbox: Dovecot) -> Iterator[tuple[bool, int]]:
    port = free_port()
    controller = Controller(Mta(mailbox, request.param), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield request.param, port
    finally:
        controller.stop()


async def test_the_probe_arrives_only_where_plus_addresses_are_accepted(
    settings: Settings, mailbox: Dovecot, mta: tuple[bool, int]
) -> None:
    plus, port = mta
    settings = settings.model_copy(update={"smtp_port": port})
    check = await check_plus_address(settings, now=NOW, wait=5, poll=0.2)
    if plus:
        assert check.status == "ok", check.line
        assert "papers+doctor-" in check.detail and "reached INBOX" in check.detail
        assert mailbox.folder_messages() == []  # the probe was deleted
    else:
        assert check.status == "FAIL"
        assert "papers+doctor-" in check.detail and "550" in check.detail
        assert "recipient_delimiter = +" in check.fix


def test_doctor_says_how_to_probe_the_mailbox(
    settings: Settings, mailbox: Dovecot, smtp_sink: Any
) -> None:
    env = {
        "NEWSLETTER_DATABASE_URL": "sqlite:///:memory:",
        "NEWSLETTER_IMAP_HOST": str(settings.imap_host),
        "NEWSLETTER_IMAP_PORT": str(settings.imap_port),
        "NEWSLETTER_IMAP_USERNAME": str(settings.imap_username),
        "NEWSLETTER_IMAP_PASSWORD": mailbox.password,
        "NEWSLETTER_IMAP_SECURITY": "none",
        "NEWSLETTER_SMTP_HOST": settings.smtp_host,
        "NEWSLETTER_SMTP_PORT": str(settings.smtp_port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_SOURCES": "sample",
        "NEWSLETTER_BASE_URL": "http://127.0.0.1:9",
    }
    plain = CliRunner().invoke(main, ["doctor"], env=env)
    (line,) = [x for x in plain.output.splitlines() if "plus-address" in x]
    assert line.startswith("info") and "--probe-plus" in line
    assert smtp_sink.messages == []
