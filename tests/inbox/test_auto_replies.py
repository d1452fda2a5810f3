"""Auto-replies never execute a command (issue 12, "auto-replies execute commands").

An out-of-office answer to a digest goes to the tokened Reply-To, so it carries the same
proof as the reader's own reply; its first line ("Leave", "Stop") must still change
nothing. Each autoresponder below marks itself in one way only, as the ones observed did.
"""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from newsletter.config import Settings
from newsletter.inbox import process_inbox
from newsletter.inbox.classify import classify
from newsletter.inbox.classify.autoreply import is_auto_reply
from newsletter.links import Links
from newsletter.models import Profile
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from tests.inbox.dovecot import Dovecot
from tests.inbox.mail import KEY, reply
from tests.support.smtp import SmtpSink

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
# (extra header lines, subject): one way each that autoresponders mark their answers.
AUTO_REPLIES = [
    ("X-Autorespond: yes\r\n", "Re: Daily Papers"),
    ("X-Auto-Response-Suppress: All\r\n", "Re: Daily Papers"),
    ("X-MS-Exchange-Inbox-Rules-Loop: ada@example.org\r\n", "Re: Daily Papers"),
    ("X-Autoreply: yes\r\n", "Re: Daily Papers"),
    ("Auto-Submitted: auto-replied\r\n", "Re: Daily Papers"),
    ("Precedence: auto_reply\r\n", "Re: Daily Papers"),
    ("Precedence: bulk\r\n", "Re: Daily Papers"),
    ("Return-Path: <>\r\n", "Re: Daily Papers"),
    ("", "Out of Office: Daily Papers"),
    ("", "Automatic reply: Daily Papers"),
    ("", "Autoreply: Daily Papers"),
    ("", "Auto: Daily Papers"),
    ("", "Abwesenheitsnotiz: Daily Papers"),
    ("", "Automatische Antwort: Daily Papers"),
    ("", "Réponse automatique : Daily Papers"),
    ("", "Absence du bureau"),
    ("", "Respuesta automática: Daily Papers"),
    ("", "Fuera de la oficina"),
    ("", "Risposta automatica: Daily Papers"),
    ("", "Automatisch antwoord: Daily Papers"),
    ("", "Resposta automática: Daily Papers"),
    ("", "Autosvar: Daily Papers"),
    ("", "Automatyczna odpowiedź: Daily Papers"),
    ("", "自动回复: Daily Papers"),
    ("", "自動返信: Daily Papers"),
    ("", "Vacation reply"),
    ("", "On vacation"),
    ("", "Automatic reply: Re: Daily Papers"),
    ("", "[Auto-Reply] Daily Papers"),
    ("", "Daily Papers [Out of Office]"),
    ("", "Ada Lovelace is out of the office."),
    ("", "I am out of the office until Monday"),
]
HUMAN_SUBJECTS = [
    "Re: Daily Papers: 26 November",
    "unsubscribe",
    "Leave",
    "topics: out of distribution; automatic speech recognition",
    "Re: Auto-encoders in today's digest",
    "Absences of attention heads",
    "Re: Daily Papers - out of office detection paper?",
    "Re: Automatic reply detection in today's digest",
    "AW: Abwesenheitsnotiz erkennen?",
    "Question on vacation detection",
    "",
]


def parsed(extra: str, subject: str) -> EmailMessage:
    raw = reply(sender="ada@example.org", to="papers@example.org", subject=subject, body="Leave")
    if extra:
        raw = raw.replace(b"MIME-Version", extra.encode() + b"MIME-Version", 1)
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def test_auto_submitted_no_outweighs_a_vacation_like_subject() -> None:
    """RFC 3834 section 5.1: ``Auto-Submitted: no`` says a person wrote it; a subject that
    merely talks about automatic replies is then not a signal (their command is carried
    out). A program's own header still is."""
    asked = parsed("Auto-Submitted: no\r\n", "Automatic reply settings question")
    assert not is_auto_reply(asked)
    assert is_auto_reply(parsed("", "Automatic reply settings question"))
    assert is_auto_reply(parsed("Auto-Submitted: no\r\nX-Autoreply: yes\r\n", "Leave"))


@pytest.mark.parametrize(("extra", "subject"), AUTO_REPLIES)
def test_each_way_of_marking_an_auto_reply_is_recognised(extra: str, subject: str) -> None:
    assert is_auto_reply(parsed(extra, subject))


@pytest.mark.parametrize("subject", HUMAN_SUBJECTS)
def test_a_readers_own_reply_is_not_an_auto_reply(subject: str) -> None:
    assert not is_auto_reply(parsed("", subject))
    assert not is_auto_reply(parsed("Auto-Submitted: no\r\nPrecedence: first-class\r\n", subject))


@pytest.mark.dovecot
async def test_no_auto_reply_to_the_tokened_reply_to_executes_its_command(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    links = Links("http://127.0.0.1:9", Signer.from_secrets(KEY), "papers@example.org")
    with sqlite_store.begin() as conn:
        ada = subscribers.add(
            conn, "ada@example.org", now=NOW, profile=Profile(topics=("RAG",)), status="active"
        )
    to = links.command_address("reply", ada)
    for n, (extra, subject) in enumerate(AUTO_REPLIES):
        mailbox.append(
            reply(
                sender="Ada <ada@example.org>",
                to=to,
                subject=subject,
                body=("Stop" if n % 2 else "Leave") + "\nI am away until Monday.",
                extra=extra,
            )
        )
    report = await process_inbox(sqlite_store, settings, now=NOW, signer=Signer.from_secrets(KEY))
    assert (report.messages, report.ignored, report.commands) == (
        len(AUTO_REPLIES),
        len(AUTO_REPLIES),
        0,
    )
    with sqlite_store.begin() as conn:
        assert subscribers.get(conn, ada.id).status == "active"
    assert smtp_sink.messages == []

    # The same words from the reader, to the same address, do unsubscribe.
    mailbox.append(
        reply(sender="Ada <ada@example.org>", to=to, subject="Re: Daily Papers", body="Leave")
    )
    report = await process_inbox(sqlite_store, settings, now=NOW, signer=Signer.from_secrets(KEY))
    assert report.commands == 1
    with sqlite_store.begin() as conn:
        assert subscribers.get(conn, ada.id).status == "unsubscribed"


def test_a_readers_reply_about_out_of_office_detection_is_a_reply_for_the_operator() -> None:
    """Vacation words after ``Re:`` are a person's topic; without an RFC 3834 header the
    classifier calls it a reply (forwarded to the operator), not an auto-reply."""
    message = parsed("", "Re: Daily Papers - out of office detection paper?")
    assert classify(message).kind == "reply"
    assert classify(parsed("Auto-Submitted: auto-replied\r\n", message["Subject"])).kind == (
        "auto-reply"
    )
