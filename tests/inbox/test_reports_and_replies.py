"""Issue 15's cases through a real Dovecot, a real SMTP sink and the CLI: only failures
count, a bounce is matched by what proves it, complaints unsubscribe, auto-replies are never
answered, a person's reply reaches the operator."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bench.classify_large import reply as reply_with_attachment
from newsletter.cli import main
from newsletter.config import Settings
from newsletter.inbox import process_inbox
from newsletter.inbox.process import InboxReport
from newsletter.links import Links
from newsletter.models import Paper, Profile, Subscriber
from newsletter.render import Renderer
from newsletter.store import editions, subscribers
from newsletter.store import inbox as events
from newsletter.store.db import Store
from newsletter.store.schema import inbox_events
from newsletter.store.schema import subscribers as subscribers_table
from newsletter.tokens import Signer
from tests.inbox.dovecot import Dovecot
from tests.inbox.mail import KEY, arf, dsn, out_of_office, reply
from tests.inbox.test_classify_notices import COURIER_BODY, POSTFIX_BODY, notice
from tests.inbox.test_process import sent
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.dovecot
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def links() -> Links:
    return Links("http://127.0.0.1:9", Signer.from_secrets(KEY), "papers@example.org")


def add(store: Store, email: str, status: str = "active") -> Subscriber:
    with store.begin() as conn:
        return subscribers.add(conn, email, now=NOW, profile=Profile(("RAG",)), status=status)  # type: ignore[arg-type]


def state(store: Store, sub: Subscriber) -> tuple[str, float]:
    with store.begin() as conn:
        row = conn.execute(
            select(subscribers_table.c.status, subscribers_table.c.bounce_score).where(
                subscribers_table.c.id == sub.id
            )
        ).one()
    return row[0], float(row[1])


def kinds(store: Store) -> list[str]:
    with store.begin() as conn:
        return list(conn.execute(select(inbox_events.c.kind).order_by(inbox_events.c.id)).scalars())


async def run(store: Store, settings: Settings, now: dt.datetime = NOW) -> InboxReport:
    return await process_inbox(store, settings, now=now, signer=Signer.from_secrets(KEY))


# --- item 2: only failures count -------------------------------------------------------


async def test_five_delivery_delayed_notices_never_mark_a_reader_bounced(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    reader = add(sqlite_store, "slow@example.com")
    for day in range(5):
        mailbox.append(
            dsn(
                reader.email,
                "4.4.1",
                action="delayed",
                diagnostic="smtp; 451 4.4.1 No answer from host",
                quoted_id=sent(sqlite_store, reader, day),
            )
        )
    report = await run(sqlite_store, settings)
    assert (report.warnings, report.bounces, report.suppressed) == (5, 0, 0)
    assert state(sqlite_store, reader) == ("active", 0.0)
    assert kinds(sqlite_store) == ["warning"] * 5
    assert smtp_sink.messages == []


# --- item 3: matching ------------------------------------------------------------------


async def test_a_bounce_from_a_forward_target_counts_for_the_reader_it_quotes(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot
) -> None:
    ada = add(sqlite_store, "ada@example.org")
    grace = add(sqlite_store, "grace@example.org")
    # Final-Recipient is where Ada's mail is forwarded; Original-Recipient names Ada.
    mailbox.append(
        dsn(
            "ada@forward.example.net",
            "5.1.1",
            original="ada@example.org",
            quoted_id=sent(sqlite_store, ada),
        )
    )
    # No Original-Recipient naming Grace: our Message-ID alone proves it.
    mailbox.append(
        dsn("g.hopper@forward.example.net", "5.1.1", quoted_id=sent(sqlite_store, grace))
    )
    report = await run(sqlite_store, settings)
    assert (report.bounces, report.suppressed) == (2, 2)
    assert state(sqlite_store, ada)[0] == state(sqlite_store, grace)[0] == "bounced"


async def test_verp_is_on_by_default_so_a_relay_that_rewrites_message_ids_still_bounces(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot
) -> None:
    assert settings.verp is None and settings.uses_verp  # IMAP_HOST set, VERP not set
    reader = add(sqlite_store, "gone@example.com")
    renderer = Renderer(settings, Links.for_settings(settings, Signer.from_secrets(KEY)))
    with sqlite_store.begin() as conn:
        edition = editions.freeze(
            conn, NOW.date(), [Paper("2411.00001", "A paper", "An abstract.")], sources=[], now=NOW
        )
    digest = renderer.digest(edition, reader, (), now=NOW)
    assert digest.return_path.startswith("papers+bounce-")
    # SES quotes its own Message-ID, not ours; the bounce comes back to the return path.
    mailbox.append(
        dsn(
            reader.email, "5.1.1", to=digest.return_path, quoted_id="<0100018c@email.amazonses.com>"
        )
    )
    report = await run(sqlite_store, settings)
    assert report.suppressed == 1 and state(sqlite_store, reader)[0] == "bounced"
    assert Settings(_env_file=None).uses_verp is False  # no mailbox is read: From stays


async def test_an_unproven_bounce_for_a_subscriber_shows_in_status_with_the_verp_hint(
    tmp_path: Path, settings: Settings, mailbox: Dovecot
) -> None:
    url = f"sqlite:///{tmp_path / 'status.db'}"
    store = Store.open(url, now=NOW)
    reader = add(store, "ses-reader@example.com")
    mailbox.append(dsn(reader.email, "5.1.1", quoted_id="<0100018c@email.amazonses.com>"))
    now = dt.datetime.now(dt.UTC)  # `newsletter status` reads the real clock
    report = await run(store, settings.model_copy(update={"verp": False}), now)
    store.close()
    assert (report.bounces, report.suppressed) == (1, 0)
    assert state(Store.open(url, now=now), reader) == ("active", 0.0)
    env = {"NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_VERP": "false"}
    checked = CliRunner().invoke(main, ["status", "--check"], env=env)
    assert checked.exit_code == 2, checked.output
    (line,) = [p for p in checked.output.splitlines() if "proved nothing" in p]
    assert "ses-reader@example.com" in line and "5.1.1 userunknown" in line
    assert "turn VERP on (NEWSLETTER_VERP=true" in line


# --- item 5: complaints ----------------------------------------------------------------


async def test_a_complaint_unsubscribes_the_reader_and_shows_in_status(
    tmp_path: Path, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    url = f"sqlite:///{tmp_path / 'status.db'}"
    store = Store.open(url, now=NOW)
    reader, other = add(store, "ada@example.org"), add(store, "grace@example.org")
    mailbox.append(arf(sent(store, reader)))  # the feedback loop redacts the recipient
    # A forged one: names Grace, quotes a Message-ID we never sent.
    mailbox.append(arf("<digest.guessed@example.org>", recipient="grace@example.org"))
    now = dt.datetime.now(dt.UTC)
    report = await run(store, settings, now)
    assert (report.complaints, report.suppressed, report.replies_sent) == (2, 1, 0)
    assert state(store, reader)[0] == "unsubscribed"
    assert state(store, other)[0] == "active"
    with store.begin() as conn:
        ((kind, sid, detail, _),) = events.recent(conn, ["complaint"], now)
    assert (kind, sid, detail["feedback_type"], detail["proof"]) == (
        "complaint",
        reader.id,
        "abuse",
        "message-id",
    )
    store.close()
    result = CliRunner().invoke(main, ["status", "--json"], env={"NEWSLETTER_DATABASE_URL": url})
    problems = json.loads(result.output)["problems"]
    assert any("1 complaint (RFC 5965)" in p and "ada@example.org" in p for p in problems)
    assert any("proved nothing" in p and "grace@example.org" in p for p in problems)
    assert smtp_sink.messages == []


# --- item 6: auto-replies and people ---------------------------------------------------


async def test_an_out_of_office_reply_is_recorded_and_never_answered(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink, links: Links
) -> None:
    reader = add(sqlite_store, "ada@example.org")
    mailbox.append(out_of_office(links.command_address("reply", reader)))
    report = await run(sqlite_store, settings)
    assert (report.ignored, report.commands, report.replies_sent) == (1, 0, 0)
    assert smtp_sink.messages == []
    with sqlite_store.begin() as conn:
        ((_, _, detail, _),) = events.recent(conn, ["ignored"], NOW)
    assert detail["kind"] == "auto-reply"
    assert "X-Auto-Response-Suppress: All" in detail["signals"]
    assert "Return-Path: <>" in detail["signals"]


async def test_a_reply_that_is_not_a_command_goes_to_the_operator_whole(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink, links: Links
) -> None:
    reader = add(sqlite_store, "ada@example.org")
    settings = settings.model_copy(update={"alert_email": "ops@example.org"})
    to = links.command_address("reply", reader)
    body = "Thanks, could you add robótics?\n\nOn Thu, Daily Papers wrote:\n> ...\n"
    sent_reply = reply(
        sender="Ada <ada@example.org>",
        to=to,
        subject="Re: Daily Papers",
        body=body,
        extra="X-Mailer: Ada's mail program\r\n",
    )
    mailbox.append(sent_reply)
    report = await run(sqlite_store, settings)
    assert (report.forwarded, report.commands, report.replies_sent) == (1, 0, 1)
    (forward,) = smtp_sink.messages
    assert forward["To"] == "ops@example.org"  # OPERATOR_EMAIL unset: ALERT_EMAIL
    assert forward["Reply-To"] == "ada@example.org"
    assert "Re: Daily Papers" in str(forward["Subject"])
    # RFC 2046 5.2.1: the reply itself, attached whole, after our short note
    assert forward.get_content_type() == "multipart/mixed"
    note, attached = forward.iter_parts()
    assert note.get_content_type() == "text/plain"
    assert "From: Ada <ada@example.org>" in note.get_content()
    assert attached.get_content_type() == "message/rfc822"
    assert attached["Content-Transfer-Encoding"] == "8bit"
    (original,) = attached.get_payload()
    assert original["Message-ID"] == email.message_from_bytes(sent_reply)["Message-ID"]
    assert original["X-Mailer"] == "Ada's mail program"
    assert "could you add robótics?" in original.get_content()
    assert sent_reply.rstrip() in bytes(smtp_sink.envelopes[0].data)
    assert state(sqlite_store, reader)[0] == "active"
    ((flags, _),) = mailbox.folder_messages()
    assert b"\\Seen" in flags
    # OPERATOR_EMAIL wins over ALERT_EMAIL
    chosen = settings.model_copy(update={"operator_email": "editor@example.org"})
    assert chosen.operator_address == "editor@example.org"


async def test_a_forwarded_replys_headers_never_reach_the_forwards_headers(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink, links: Links
) -> None:
    """A subject and a From name that decode to line breaks and header lines stay text:
    flattened in our Subject and note, and as sent inside the attached message."""
    reader = add(sqlite_store, "ada@example.org")
    settings = settings.model_copy(update={"operator_email": "ops@example.org"})
    evil = "=?utf-8?q?Hello=0D=0ABcc=3A_victim=40example=2Enet=0D=0A=0D=0Abody?="
    sent_reply = reply(
        sender="=?utf-8?q?Ada=0D=0ABcc=3A_other=40example=2Enet?= <ada@example.org>",
        to=links.command_address("reply", reader),
        subject=evil,
        body="Thanks for the list.",
    )
    mailbox.append(sent_reply)
    report = await run(sqlite_store, settings)
    assert report.forwarded == 1
    (envelope,) = smtp_sink.envelopes
    assert envelope.rcpt_tos == ["ops@example.org"]
    (forward,) = smtp_sink.messages
    assert forward.get_all("Bcc") is None
    assert "\n" not in str(forward["Subject"]) and "victim" in str(forward["Subject"])
    head = bytes(envelope.data).partition(b"\r\n\r\n")[0]
    fields = [line.partition(b":")[0].lower() for line in head.split(b"\r\n")]
    assert b"bcc" not in fields and not any(f.startswith(b"body") for f in fields)
    # inside the attachment, the reply's own header exactly as it was sent (still encoded)
    body = bytes(envelope.data).partition(b"\r\n\r\n")[2]
    assert b"\r\nSubject: " + evil.encode() + b"\r\n" in body


async def test_with_no_operator_a_persons_reply_stays_unread_in_the_mailbox(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    assert settings.operator_address is None
    add(sqlite_store, "ada@example.org")
    mailbox.append(
        reply(
            sender="ada@example.org",
            to="papers@example.org",
            subject="Great list",
            body="Thanks, could you add robotics?",
        )
    )
    report = await run(sqlite_store, settings)
    assert (report.left_unread, report.replies_sent) == (1, 0)
    assert smtp_sink.messages == []
    ((flags, _),) = mailbox.folder_messages()
    assert b"NewsletterDone" in flags and b"\\Seen" not in flags
    assert (await run(sqlite_store, settings)).messages == 0


async def test_a_command_that_fails_gets_one_short_answer_threaded_to_it(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink, links: Links
) -> None:
    reader = add(sqlite_store, "ada@example.org", status="unsubscribed")
    to = links.command_address("reply", reader)
    mailbox.append(
        reply(sender="ada@example.org", to=to, subject="pause", body="", message_id="<q1@client>")
    )
    report = await run(sqlite_store, settings)
    assert report.commands == 1
    (answer,) = smtp_sink.messages
    assert answer["In-Reply-To"] == "<q1@client>" and answer["References"] == "<q1@client>"
    assert answer["Auto-Submitted"] == "auto-replied"
    text = answer.get_content().strip()
    assert text == "pause: not done, the subscription is not active."


def test_the_inbox_command_reports_warnings_complaints_and_forwards(
    tmp_path: Path, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.open(url, now=NOW)
    reader = add(store, "ada@example.org")
    mailbox.append(dsn(reader.email, "4.4.7", action="delayed", quoted_id=sent(store, reader)))
    mailbox.append(arf(sent(store, reader, 1)))
    mailbox.append(
        reply(sender="ada@example.org", to="papers@example.org", subject="Hi", body="Hello")
    )
    store.close()
    env = {
        "NEWSLETTER_DATABASE_URL": url,
        "NEWSLETTER_SECRET_KEY": KEY,
        "NEWSLETTER_FROM": "Daily Papers <papers@example.org>",
        "NEWSLETTER_IMAP_HOST": str(settings.imap_host),
        "NEWSLETTER_IMAP_PORT": str(settings.imap_port),
        "NEWSLETTER_IMAP_USERNAME": str(settings.imap_username),
        "NEWSLETTER_IMAP_PASSWORD": settings.imap_password.get_secret_value()
        if settings.imap_password
        else "",
        "NEWSLETTER_IMAP_SECURITY": "none",
        "NEWSLETTER_DELIVERY": "smtp",
        "NEWSLETTER_SMTP_HOST": settings.smtp_host,
        "NEWSLETTER_SMTP_PORT": str(settings.smtp_port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_OPERATOR_EMAIL": "editor@example.org",
    }
    result = CliRunner().invoke(main, ["inbox"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 warning, 1 complaint (1 suppressed)" in result.output
    assert "1 forwarded, 0 left unread" in result.output
    (forward,) = smtp_sink.messages
    assert forward["To"] == "editor@example.org"


# --- issue 15, the outside tester's misses: notices no ported reader knows ---------------


async def test_plain_text_notices_from_mail_systems_are_bounces_never_forwarded_replies(
    tmp_path: Path, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    """A Courier transcript from ``<@>`` and a Postfix text notice from MAILER-DAEMON (no
    report part): bounces naming the reader (unproven without VERP, so shown by `status`
    with the address), never forwarded to the operator as a person's reply."""
    url = f"sqlite:///{tmp_path / 'status.db'}"
    store = Store.open(url, now=NOW)
    reader = add(store, "kate@example.net")
    courier = "Courier mail server at mx.example.net <@>"
    mailbox.append(notice(courier, "NOTICE: mail delivery status.", COURIER_BODY))
    postfix = notice(
        "MAILER-DAEMON@mx.example.org", "Mail status", POSTFIX_BODY, message_id="<n2@mx.example>"
    )
    mailbox.append(postfix)
    now = dt.datetime.now(dt.UTC)
    chosen = settings.model_copy(update={"verp": False, "alert_email": "ops@example.org"})
    report = await run(store, chosen, now)
    assert (report.bounces, report.forwarded, report.replies_sent) == (2, 0, 0)
    assert smtp_sink.messages == []
    assert kinds(store) == ["bounce-unproven", "bounce-unproven"]
    assert state(store, reader) == ("active", 0.0)  # unproven: nothing counted
    store.close()
    env = {"NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_VERP": "false"}
    checked = CliRunner().invoke(main, ["status", "--check"], env=env)
    (line,) = [p for p in checked.output.splitlines() if "proved nothing" in p]
    assert "kate@example.net" in line and "userunknown" in line


async def test_a_reply_with_a_large_attachment_is_forwarded_whole(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink, links: Links
) -> None:
    """Only an excerpt is parsed to classify it; the operator gets every byte."""
    reader = add(sqlite_store, "kate@example.net")
    settings = settings.model_copy(update={"alert_email": "ops@example.org"})
    big = reply_with_attachment(1024 * 1024).replace(
        b"papers+help-k3j2h1@example.org", links.command_address("reply", reader).encode()
    )
    mailbox.append(big)
    report = await run(sqlite_store, settings)
    assert report.forwarded == 1
    (forward,) = smtp_sink.messages
    _note, attached = forward.iter_parts()
    (inner,) = attached.iter_parts()
    (pdf,) = [p for p in inner.walk() if p.get_filename() == "mine.pdf"]
    original = email.message_from_bytes(big, policy=email.policy.default)
    (sent_pdf,) = [p for p in original.walk() if p.get_filename() == "mine.pdf"]
    assert pdf.get_payload(decode=True) == sent_pdf.get_payload(decode=True)


async def test_a_mail_systems_message_that_is_no_failure_is_recorded_never_forwarded(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    settings = settings.model_copy(update={"alert_email": "ops@example.org"})
    delivered = "Your message was successfully delivered to kate@example.net.\n"
    mailbox.append(notice("Courier mail server at mx.example.net <@>", "Mail status", delivered))
    report = await run(sqlite_store, settings)
    assert (report.ignored, report.forwarded, report.replies_sent) == (1, 0, 0)
    assert smtp_sink.messages == []
    assert kinds(sqlite_store) == ["ignored"]
