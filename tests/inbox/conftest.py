"""A real Dovecot for the inbox tests (one per module), emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.config import Settings
from tests.inbox.dovecot import Dovecot, dovecot_problem, running_dovecot
from tests.inbox.mail import KEY
from tests.support.needs import need
from tests.support.smtp import SmtpSink


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    problem = dovecot_problem()
    need(problem is None, str(problem))
    with running_dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Iterator[Dovecot]:
    """The shared server with an empty INBOX for each test."""
    import imaplib

    with imaplib.IMAP4(dovecot.host, dovecot.port) as imap:
        imap.login(dovecot.username, dovecot.password)
        for folder in ("INBOX", "Newsletter-Malformed"):
            status, data = imap.select(folder)
            if status == "OK" and data[0] != b"0":
                imap.store("1:*", "+FLAGS", "(\\Deleted)")
                imap.expunge()
    yield dovecot


@pytest.fixture
def settings(mailbox: Dovecot, smtp_sink: SmtpSink, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        secret_key=KEY,
        from_address="Daily Papers <papers@example.org>",
        base_url="http://127.0.0.1:9",
        imap_host=mailbox.host,
        imap_port=mailbox.port,
        imap_username=mailbox.username,
        imap_password=mailbox.password,
        imap_security="none",
        delivery="smtp",
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_security="none",
    )
