"""Hostile text in reply commands (quoted-printable NUL, bidi overrides, an escape
sequence): the command is carried out, and what is stored is plain text, on SQLite and on
PostgreSQL (which refuses NUL in text). A real Dovecot and SMTP sink."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from newsletter.config import Settings
from newsletter.inbox import process_inbox
from newsletter.links import Links
from newsletter.models import Profile
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from tests.inbox.dovecot import Dovecot
from tests.inbox.mail import KEY
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.dovecot
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
UNWANTED = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _reply_qp(sender: str, to: str, body_qp: str) -> bytes:
    """A reply whose body is quoted-printable (``=00`` is a NUL once decoded)."""
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: Re: Daily Papers\r\n"
        "Message-ID: <hostile.1@client.example.net>\r\nDate: Thu, 26 Nov 2026 08:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + body_qp + "\r\n"
    ).encode("ascii")


async def test_topics_by_reply_with_nul_and_bidi_are_saved_clean(
    store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    links = Links("http://127.0.0.1:9", Signer.from_secrets(KEY), "papers@example.org")
    with store.begin() as conn:
        sub = subscribers.add(conn, "ada@example.org", now=NOW, profile=Profile(topics=("RAG",)))
    body = "topics: diffu=00sion; spec=E2=80=AEulative decoding; graph=1B[31m nets"
    mailbox.append(_reply_qp("ada@example.org", links.command_address("reply", sub), body))
    report = await process_inbox(store, settings, now=NOW, signer=Signer.from_secrets(KEY))
    assert report.commands == 1
    with store.begin() as conn:
        after = subscribers.get(conn, sub.id)
    assert len(after.topics) == 3, after.topics
    for topic in after.topics:
        assert not UNWANTED.search(topic), repr(topic)
    assert after.topics[0] == "diffusion"
    (answer,) = smtp_sink.messages
    assert not UNWANTED.search(answer.get_content().replace("\r\n", "\n").replace("\n", " "))
