"""``subscribers remove`` forgets the reader: no id, link or history passes to a newcomer
(issue 12, item 6)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from newsletter.models import Profile
from newsletter.store import inbox as events
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.store.schema import inbox_events
from newsletter.store.schema import subscribers as subscribers_table

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def test_the_id_of_a_removed_subscriber_is_never_given_out_again(store: Store) -> None:
    with store.begin() as conn:
        subscribers.add(conn, "first@example.org", now=NOW)
        last = subscribers.add(conn, "last@example.org", now=NOW)
        subscribers.remove(conn, last.email)
        newcomer = subscribers.add(conn, "new@example.org", now=NOW)
        subscribers.remove(conn, newcomer.email)
        again = subscribers.add(conn, last.email, now=NOW)  # the same address, back
    assert last.id < newcomer.id < again.id


def test_remove_takes_the_readers_inbox_history_with_them(store: Store) -> None:
    with store.begin() as conn:
        old = subscribers.add(conn, "old@example.org", now=NOW, profile=Profile(("RAG",)))
        for _ in range(3):
            subscribers.record_bounce(
                conn,
                old.id,
                "soft",
                hard_score=5,
                soft_score=1,
                threshold=5,
                reset_days=30,
                now=NOW,
            )
        events.note_unverified_reply(conn, "Old@example.org", "<m1@x>", NOW)
        subscribers.remove(conn, old.email)
        left = conn.execute(
            select(inbox_events.c.kind).where(inbox_events.c.subscriber_id == old.id)
        ).all()
        throttled = events.replied_since(conn, "old@example.org", NOW - dt.timedelta(hours=1))
    assert (left, throttled) == ([], False)


def test_each_subscriber_gets_a_random_nonce(store: Store) -> None:
    with store.begin() as conn:
        made = [subscribers.add(conn, f"r{i}@example.org", now=NOW) for i in range(20)]
        found = subscribers.find(conn, made[0].id)
    nonces = {s.token_nonce for s in made}
    assert len(nonces) == 20 and all(len(n) == 32 for n in nonces)
    assert found == made[0] and not found.legacy_tokens


def test_a_row_inserted_without_a_nonce_gets_one(store: Store) -> None:
    """Rows made by hand or by other tools (``INSERT`` without the column) still get a
    random nonce from the database, so their links can be signed and verified."""
    row = {
        "topics": [],
        "categories": [],
        "authors": [],
        "exclude": [],
        "status": "active",
        "frequency": "daily",
        "bounce_score": 0.0,
        "created_at": NOW,
        "updated_at": NOW,
    }
    with store.begin() as conn:
        conn.execute(
            insert(subscribers_table),
            [{**row, "email": f"raw{i}@example.org", "name": ""} for i in range(3)],
        )
        made = subscribers.list_all(conn)
    nonces = {s.token_nonce for s in made}
    assert len(nonces) == 3 and all(len(n) == 32 for n in nonces), nonces
