"""A removed reader's reply and VERP addresses act on no one (issue 12, item 6)."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.config import Settings
from newsletter.inbox import process_inbox
from newsletter.links import Links
from newsletter.models import Profile, Subscriber
from newsletter.store import inbox as events
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from tests.inbox.dovecot import Dovecot
from tests.inbox.mail import KEY, dsn, reply

pytestmark = pytest.mark.dovecot
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


def _add(store: Store, email: str) -> Subscriber:
    with store.begin() as conn:
        return subscribers.add(conn, email, now=NOW, profile=Profile(("RAG",)))


async def test_old_reply_and_verp_addresses_after_removal(
    sqlite_store: Store, settings: Settings, mailbox: Dovecot
) -> None:
    links = Links("http://127.0.0.1:9", Signer.from_secrets(KEY), "papers@example.org")
    old = _add(sqlite_store, "old@example.org")
    unsubscribe = links.command_address("unsubscribe", old)
    reply_to = links.command_address("reply", old)
    return_path = links.return_path(old)
    with sqlite_store.begin() as conn:
        subscribers.remove(conn, old.email)
    new = _add(sqlite_store, "new@example.org")
    mailbox.append(reply(sender="old@example.org", to=unsubscribe, subject="", body=""))
    mailbox.append(reply(sender="old@example.org", to=reply_to, subject="x", body="stop"))
    mailbox.append(dsn("old@example.org", "5.1.1", to=return_path))
    report = await process_inbox(sqlite_store, settings, now=NOW, signer=links.signer)
    assert (report.messages, report.suppressed) == (3, 0)
    with sqlite_store.begin() as conn:
        after = subscribers.get(conn, new.id)
        scored = events.last_bounce_at(conn, new.id)
    assert (after.status, after.topics, scored) == ("active", ("RAG",), None)
