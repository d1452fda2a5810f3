"""Forged DSNs: a bounce proves nothing unless it carries what only we could have made.

The attack (issue 12, item 5): digest Message-IDs were ``sha256("digest\\0{edition}:{date}:{id}")``,
computable by anyone from a public date and small ids. A DSN that names a victim in
Final-Recipient and quotes those ids for readers 1..N passed the "our Message-ID" proof.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from newsletter.config import Settings
from newsletter.inbox import process_inbox
from newsletter.links import Links
from newsletter.models import Edition, Paper, Profile, Subscriber
from newsletter.render import Renderer
from newsletter.store import editions, subscribers
from newsletter.store.db import Store
from newsletter.store.schema import ledger
from newsletter.tokens import Signer
from tests.inbox.dovecot import Dovecot
from tests.inbox.mail import KEY, dsn

pytestmark = pytest.mark.dovecot
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
READERS = 5


def _send_digests(store: Store, settings: Settings) -> tuple[Edition, list[Subscriber], list[str]]:
    """Render each reader's digest as the send loop does and book it ``sent`` with its id."""
    renderer = Renderer(settings, Links.for_settings(settings, Signer.from_secrets(KEY)))
    with store.begin() as conn:
        readers = [
            subscribers.add(conn, f"reader{i}@example.com", now=NOW, profile=Profile(("RAG",)))
            for i in range(READERS)
        ]
        edition = editions.freeze(
            conn, NOW.date(), [Paper("2411.00001", "A paper", "An abstract.")], sources=[], now=NOW
        )
    ids = []
    with store.begin() as conn:
        for reader in readers:
            message = renderer.digest(edition, reader, (), now=NOW)
            ids.append(message.message_id)
            conn.execute(
                ledger.insert().values(
                    edition_id=edition.id,
                    subscriber_id=reader.id,
                    state="sent",
                    message_id=message.message_id,
                    attempts=1,
                    sent_at=NOW,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    return edition, readers, ids


def _status(store: Store, reader: Subscriber) -> tuple[str, float]:
    with store.begin() as conn:
        found = subscribers.get(conn, reader.id)
        score = conn.execute(
            subscribers.subscribers.select().where(subscribers.subscribers.c.id == reader.id)
        ).mappings()
        return found.status, float(score.one()["bounce_score"])


async def test_dsn_quoting_computed_message_ids_suppresses_no_one(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot
) -> None:
    edition, readers, _ = _send_digests(sqlite_store, settings)
    victim = readers[2]
    for sid in range(1, READERS + 1):  # every id the public formula gives for this day
        key = f"digest\x00{edition.id}:{edition.date}:{sid}".encode()
        guessed = f"<digest.{hashlib.sha256(key).hexdigest()[:24]}@example.org>"
        mailbox.append(dsn(victim.email, "5.1.1", quoted_id=guessed))
    report = await process_inbox(sqlite_store, settings, now=NOW, signer=Signer.from_secrets(KEY))
    assert (report.bounces, report.suppressed) == (READERS, 0)
    assert _status(sqlite_store, victim) == ("active", 0.0)


async def test_dsn_quoting_the_message_id_we_sent_still_counts(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot
) -> None:
    _, readers, ids = _send_digests(sqlite_store, settings)
    mailbox.append(dsn(readers[2].email, "5.1.1", quoted_id=ids[2]))
    report = await process_inbox(sqlite_store, settings, now=NOW, signer=Signer.from_secrets(KEY))
    assert report.suppressed == 1
    assert _status(sqlite_store, readers[2])[0] == "bounced"


def test_message_ids_are_keyed_with_the_secret(settings: Settings) -> None:
    """Same edition, reader and time under two keys: two unrelated Message-IDs."""
    reader = Subscriber(id=1, email="reader@example.com", token_nonce="reader-nonce")
    edition = Edition(1, NOW.date(), (), NOW)
    made = {
        Renderer(settings, Links.for_settings(settings, Signer.from_secrets(key)))
        .digest(edition, reader, (), now=NOW)
        .message_id
        for key in (KEY, KEY + "-other")
    }
    assert len(made) == 2
    key = f"digest\x00{edition.id}:{edition.date}:1".encode()
    assert f"<digest.{hashlib.sha256(key).hexdigest()[:24]}@example.org>" not in made
