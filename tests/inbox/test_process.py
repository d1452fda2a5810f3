"""process_inbox against a real Dovecot (IMAP) and a real SMTP sink for the replies."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from newsletter.config import Settings
from newsletter.inbox import process_inbox
from newsletter.links import Links
from newsletter.models import Paper, Profile, Subscriber
from newsletter.store import editions, subscribers
from newsletter.store.db import Store
from newsletter.store.schema import ledger
from newsletter.store.schema import subscribers as subscribers_table
from newsletter.tokens import Signer
from tests.inbox.dovecot import Dovecot
from tests.inbox.mail import KEY, dsn, reply
from tests.inbox.proxy import cutting_proxy
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.dovecot
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def links() -> Links:
    return Links("http://127.0.0.1:9", Signer.from_secrets(KEY), "papers@example.org")


def add(store: Store, email: str = "ada@example.org", status: str = "active") -> Subscriber:
    with store.begin() as conn:
        return subscribers.add(
            conn, email, now=NOW, profile=Profile(topics=("RAG",)), status=status
        )  # type: ignore[arg-type]


def sent(store: Store, sub: Subscriber, day: int = 0) -> str:
    """A ledger row for an email sent to ``sub``: its Message-ID (what a real DSN quotes)."""
    message_id = f"<digest.{sub.id}.{day}@example.org>"
    date = dt.date(2026, 1, 1) + dt.timedelta(days=day)
    with store.begin() as conn:
        edition = editions.get_by_date(conn, date) or editions.freeze(
            conn, date, [Paper("2411.00001", "A paper", "An abstract.")], sources=[], now=NOW
        )
        conn.execute(
            ledger.insert().values(
                edition_id=edition.id,
                subscriber_id=sub.id,
                state="sent",
                message_id=message_id,
                attempts=1,
                sent_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return message_id


def get(store: Store, sid: int) -> Subscriber:
    with store.begin() as conn:
        return subscribers.get(conn, sid)


async def run(store: Store, settings: Settings, now: dt.datetime = NOW):  # type: ignore[no-untyped-def]
    return await process_inbox(store, settings, now=now, signer=Signer.from_secrets(KEY))


async def test_unsubscribe_by_token_reply_once(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink, links: Links
) -> None:
    sub = add(sqlite_store)
    to = links.command_address("unsubscribe", sub)
    mailbox.append(reply(sender="Ada <ada@example.org>", to=to, subject="unsubscribe", body=""))
    report = await run(sqlite_store, settings)
    assert (report.messages, report.commands, report.replies_sent) == (1, 1, 1)
    assert get(sqlite_store, sub.id).status == "unsubscribed"
    (answer,) = smtp_sink.messages
    assert answer["To"] == "ada@example.org" and "unsubscribe: done" in answer.get_content()
    assert answer["Auto-Submitted"] == "auto-replied"
    ((flags, _),) = mailbox.folder_messages()
    assert b"NewsletterDone" in flags
    again = await run(sqlite_store, settings)
    assert again.messages == 0 and len(smtp_sink.messages) == 1


async def test_topics_by_reply_ignores_quote_and_signature(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, links: Links
) -> None:
    sub = add(sqlite_store)
    body = "topics: diffusion models; LLM agents\n\n-- \nAda\n\nOn Wed, Daily Papers wrote:\n> unsubscribe\n"
    mailbox.append(
        reply(
            sender="ada@example.org",
            to=links.command_address("reply", sub),
            subject="Re: Daily Papers",
            body=body,
        )
    )
    await run(sqlite_store, settings)
    after = get(sqlite_store, sub.id)
    assert after.topics == ("diffusion models", "LLM agents") and after.status == "active"


async def test_a_topic_by_reply_that_looks_like_a_typo_gets_did_you_mean(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink, links: Links
) -> None:
    """Issue 16 item 3 by reply: saved as written; the answer names the close word of the
    latest edition's papers."""
    with sqlite_store.begin() as conn:
        editions.freeze(
            conn,
            NOW.date(),
            [Paper("2611.00001", "Continual learning at scale", "Continual learning of models.")],
            sources=["sample"],
            now=NOW,
        )
    sub = add(sqlite_store)
    mailbox.append(
        reply(
            sender="ada@example.org",
            to=links.command_address("reply", sub),
            subject="Re: Daily Papers",
            body="add topic: contiual learning\n",
        )
    )
    await run(sqlite_store, settings)
    assert get(sqlite_store, sub.id).topics == ("RAG", "contiual learning")
    (answer,) = smtp_sink.messages
    assert "Did you mean “continual learning” for “contiual learning”?" in answer.get_content()


async def test_forged_from_changes_nothing_until_confirmed(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    sub = add(sqlite_store)
    mailbox.append(
        reply(
            sender="ada@example.org", to="papers@example.org", subject="unsubscribe", body="pause"
        )
    )
    report = await run(sqlite_store, settings)
    assert report.confirmations_asked == 1
    assert get(sqlite_store, sub.id).status == "active"
    (ask,) = smtp_sink.messages
    assert ask["To"] == "ada@example.org"
    confirm_to = re.search(r"papers\+confirm-\S+@example\.org", ask.get_content())
    assert confirm_to is not None
    mailbox.append(
        reply(sender="ada@example.org", to=confirm_to.group(0), subject="Re: confirm", body="")
    )
    await run(sqlite_store, settings)
    assert get(sqlite_store, sub.id).status == "unsubscribed"
    with sqlite_store.begin() as conn:
        subscribers.set_status(conn, sub.id, "active", now=NOW)
    mailbox.append(
        reply(sender="ada@example.org", to=confirm_to.group(0), subject="confirm", body="")
    )
    await run(sqlite_store, settings)
    assert get(sqlite_store, sub.id).status == "active"  # a confirmation works once


async def test_forged_token_and_unknown_sender_change_nothing(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, links: Links
) -> None:
    sub = add(sqlite_store)
    stranger = Links("http://x", Signer.from_secrets("another-key-entirely"), "papers@example.org")
    mailbox.append(
        reply(
            sender="ada@example.org",
            to=stranger.command_address("unsubscribe", sub),
            subject="unsubscribe",
            body="",
        )
    )
    good = links.command_address("unsubscribe", sub)
    tampered = good.replace("unsubscribe-", "unsubscribe-X", 1)
    mailbox.append(reply(sender="mallory@example.net", to=tampered, subject="unsubscribe", body=""))
    report = await run(sqlite_store, settings)
    assert report.messages == 2 and report.malformed == 0
    assert get(sqlite_store, sub.id).status == "active"
    with sqlite_store.begin() as conn:
        assert subscribers.get_by_email(conn, "mallory@example.net") is None


async def test_subscribe_by_email_needs_confirmation(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    mailbox.append(
        reply(
            sender="Bob <bob@example.net>",
            to="papers@example.org",
            subject="subscribe",
            body="topics: RAG; agents",
        )
    )
    await run(sqlite_store, settings)
    with sqlite_store.begin() as conn:
        bob = subscribers.require_by_email(conn, "bob@example.net")
    assert bob.status == "pending" and bob.topics == ("RAG", "agents")
    (confirmation,) = smtp_sink.messages
    assert "/confirm/" in confirmation.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_bounces_suppress_hard_at_once_soft_after_threshold(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    """Mailman's scores: a hard bounce reaches the threshold; soft ones add up, one a day."""
    hard = add(sqlite_store, "gone@example.com")
    soft = add(sqlite_store, "full@example.com")
    policy = add(sqlite_store, "strict@example.com")
    mailbox.append(dsn("gone@example.com", "5.1.1", quoted_id=sent(sqlite_store, hard)))
    mailbox.append(
        dsn(
            "strict@example.com",
            "5.7.1",
            diagnostic="smtp; 550 5.7.1 rejected by policy",
            quoted_id=sent(sqlite_store, policy),
        )
    )
    full = "smtp; 452 4.2.2 Mailbox full"
    for day in range(4):
        quoted = sent(sqlite_store, soft, day)
        mailbox.append(dsn("full@example.com", "4.2.2", diagnostic=full, quoted_id=quoted))
        mailbox.append(dsn("full@example.com", "4.2.2", diagnostic=full, quoted_id=quoted))
        report = await run(sqlite_store, settings, NOW + dt.timedelta(days=day))
        assert report.bounces == (4 if day == 0 else 2) and report.replies_sent == 0
        assert report.suppressed == (1 if day == 0 else 0)
        assert get(sqlite_store, soft.id).status == "active"
    assert get(sqlite_store, hard.id).status == "bounced"
    assert get(sqlite_store, policy.id).status == "active"
    quoted = sent(sqlite_store, soft, 4)
    mailbox.append(dsn("full@example.com", "4.2.2", diagnostic=full, quoted_id=quoted))
    await run(sqlite_store, settings, NOW + dt.timedelta(days=4))
    assert get(sqlite_store, soft.id).status == "bounced"
    assert smtp_sink.messages == []


async def test_forged_dsn_changes_nothing(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot
) -> None:
    subs = [add(sqlite_store, f"reader{i}@example.com") for i in range(3)]
    for sub in subs:
        sent(sqlite_store, sub)
    emails = tuple(s.email for s in subs)
    mailbox.append(dsn(emails[0], "5.1.1", more=emails[1:]))  # quotes no Message-ID
    mailbox.append(dsn(emails[0], "5.1.1", more=emails[1:], quoted_id="<forged@example.org>"))
    # A real Message-ID, but not one sent to the addresses listed:
    mailbox.append(
        dsn(emails[1], "5.1.1", more=emails[2:], quoted_id=sent(sqlite_store, subs[0], 1))
    )
    report = await run(sqlite_store, settings)
    assert (report.bounces, report.suppressed) == (3, 0)
    assert [get(sqlite_store, s.id).status for s in subs] == ["active"] * 3
    with sqlite_store.begin() as conn:
        scores = conn.execute(subscribers_table.select()).mappings().all()
    assert [row["bounce_score"] for row in scores] == [0.0] * 3


async def test_one_dsn_counts_one_recipient(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, links: Links
) -> None:
    subs = [add(sqlite_store, f"reader{i}@example.com") for i in range(3)]
    ids = [sent(sqlite_store, sub) for sub in subs]
    emails = tuple(s.email for s in subs)
    # Quotes reader0's Message-ID but lists everyone: only reader0 counts.
    mailbox.append(dsn(emails[1], "5.1.1", more=(emails[2], emails[0]), quoted_id=ids[0]))
    # A valid VERP address names reader1 once, whatever the DSN lists.
    verp = links.return_path(subs[1])
    mailbox.append(dsn(emails[2], "4.2.2", diagnostic="smtp; 452 4.2.2 full", more=emails, to=verp))
    report = await run(sqlite_store, settings)
    assert report.suppressed == 1
    after = [get(sqlite_store, s.id) for s in subs]
    assert [s.status for s in after] == ["bounced", "active", "active"]
    with sqlite_store.begin() as conn:
        scores = {
            row["email"]: row["bounce_score"]
            for row in conn.execute(subscribers_table.select()).mappings()
        }
    assert scores == {emails[0]: 5.0, emails[1]: 1.0, emails[2]: 0.0}


async def test_old_soft_bounces_are_forgotten(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot
) -> None:
    sub = add(sqlite_store, "full@example.com")
    for day in range(5):
        quoted = sent(sqlite_store, sub, day)
        mailbox.append(
            dsn("full@example.com", "4.2.2", diagnostic="smtp; 452 4.2.2 full", quoted_id=quoted)
        )
        await run(sqlite_store, settings, NOW + dt.timedelta(days=40 * day))
    assert get(sqlite_store, sub.id).status == "active"


async def test_malformed_set_aside_duplicates_and_auto_replies_skipped(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink, links: Links
) -> None:
    sub = add(sqlite_store)
    mailbox.append(b"Subject: unsubscribe\r\nMessage-ID: <nofrom@x>\r\n\r\nunsubscribe\r\n")
    mailbox.append(
        reply(
            sender="ada@example.org",
            to="papers@example.org",
            subject="Out of office",
            body="I am away",
            extra="Auto-Submitted: auto-replied\r\n",
        )
    )
    to = links.command_address("reply", sub)
    mailbox.append(
        reply(sender="ada@example.org", to=to, subject="pause", body="", message_id="<same@client>")
    )
    mailbox.append(
        reply(
            sender="ada@example.org", to=to, subject="resume", body="", message_id="<same@client>"
        )
    )
    report = await run(sqlite_store, settings)
    assert (
        report.messages,
        report.malformed,
        report.ignored,
        report.commands,
        report.duplicates,
    ) == (4, 1, 1, 1, 1)
    assert get(sqlite_store, sub.id).status == "paused"
    assert len(smtp_sink.messages) == 1
    assert len(mailbox.folder_messages(settings.imap_quarantine_folder)) == 1
    assert len(mailbox.folder_messages()) == 3
    assert (await run(sqlite_store, settings)).messages == 0


async def test_forged_subscribe_flood_gets_one_confirmation_a_day(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    for _ in range(5):
        mailbox.append(
            reply(
                sender="victim@example.net", to="papers@example.org", subject="subscribe", body=""
            )
        )
    report = await run(sqlite_store, settings)
    assert (report.messages, report.commands, report.replies_sent) == (5, 5, 1)
    (confirmation,) = smtp_sink.messages
    assert confirmation["To"] == "victim@example.net"
    with sqlite_store.begin() as conn:
        assert subscribers.require_by_email(conn, "victim@example.net").status == "pending"
    mailbox.append(
        reply(sender="victim@example.net", to="papers@example.org", subject="subscribe", body="")
    )
    await run(sqlite_store, settings, NOW + dt.timedelta(hours=23))
    assert len(smtp_sink.messages) == 1
    mailbox.append(
        reply(sender="Victim@example.net", to="papers@example.org", subject="subscribe", body="")
    )
    await run(sqlite_store, settings, NOW + dt.timedelta(hours=25))
    assert len(smtp_sink.messages) == 2


async def test_forged_command_flood_asks_the_subscriber_once(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    sub = add(sqlite_store)
    for word in ("unsubscribe", "pause", "unsubscribe", "topics: spam"):
        mailbox.append(
            reply(sender="ada@example.org", to="papers@example.org", subject=word, body="")
        )
    report = await run(sqlite_store, settings)
    assert report.messages == 4 and report.confirmations_asked == 1
    (ask,) = smtp_sink.messages
    assert ask["To"] == "ada@example.org"
    assert get(sqlite_store, sub.id).status == "active"


async def test_mailbox_dying_midway_keeps_the_replies_and_says_so(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, smtp_sink: SmtpSink, links: Links
) -> None:
    ada = add(sqlite_store)
    grace = add(sqlite_store, "grace@example.org")
    for sub in (ada, grace):
        to = links.command_address("unsubscribe", sub)
        mailbox.append(reply(sender=sub.email, to=to, subject="unsubscribe", body=""))
    with cutting_proxy(mailbox.port, b" FETCH ", times=2) as proxy:
        cut = settings.model_copy(update={"imap_port": proxy.port})
        report = await run(sqlite_store, cut)
        assert proxy.cut.is_set()
    assert report.mailbox_error is not None and "imap" in report.mailbox_error
    assert "\n" not in report.mailbox_error
    assert "failed part-way" in report.summary()
    assert (report.messages, report.commands, report.replies_sent) == (2, 1, 1)
    assert [str(m["To"]) for m in smtp_sink.messages] == ["ada@example.org"]
    assert get(sqlite_store, ada.id).status == "unsubscribed"
    assert get(sqlite_store, grace.id).status == "active"
    # The next run picks up where this one stopped: Grace's message, once.
    again = await run(sqlite_store, settings)
    assert (again.messages, again.commands, again.mailbox_error) == (1, 1, None)
    assert get(sqlite_store, grace.id).status == "unsubscribed"
    assert [str(m["To"]) for m in smtp_sink.messages] == ["ada@example.org", "grace@example.org"]


async def test_topics_by_reply_are_embedded_for_the_next_run(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot, links: Links
) -> None:
    """Issue 16 speed: a reply command's topics are cached once its transaction is over."""
    from newsletter.rank.embed import DIMENSIONS, MODEL_ID, load_encoder
    from newsletter.store import embeddings as stored

    sub = add(sqlite_store)
    mailbox.append(
        reply(
            sender="ada@example.org",
            to=links.command_address("reply", sub),
            subject="Re: Daily Papers",
            body="add topic: Lifelong Learning\n",
        )
    )
    await run(sqlite_store, settings)
    assert get(sqlite_store, sub.id).topics == ("RAG", "Lifelong Learning")
    with sqlite_store.begin() as conn:
        found = stored.load_topics(conn, MODEL_ID, ["lifelong learning", "rag"], DIMENSIONS)
    expected = {"lifelong learning", "rag"} if load_encoder() is not None else set()
    assert set(found) == expected
