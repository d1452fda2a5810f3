"""``subscribers.add_many`` (the import's batched insert, issue 14 item 7) stores what
``subscribers.add`` stores, field by field, on SQLite and PostgreSQL; a duplicate address
adds nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Connection

from newsletter.errors import StoreError
from newsletter.models import Profile, Subscriber
from newsletter.store import subscribers
from newsletter.store.db import Store

NOW = dt.datetime(2026, 12, 1, 7, 30, 15, 123456, tzinfo=dt.UTC)
PROFILE = Profile(("bandits", "Café RL"), ("cs.LG",), ("Sutton",), ("survey",))


def _fields(conn: Connection, sub: Subscriber) -> tuple[object, ...]:
    extra = subscribers.bookkeeping(conn, sub.id)
    return (
        sub.email,
        sub.name,
        sub.profile,
        sub.status,
        sub.frequency,
        sub.paused_until,
        sub.created_at,
        sub.legacy_tokens,
        len(sub.token_nonce),
        dict(extra),
    )


def test_add_many_stores_what_add_stores(store: Store) -> None:
    with store.begin() as conn:
        one = subscribers.add(conn, "Ada@Example.org", now=NOW, name="Ada", profile=PROFILE)
        subscribers.update_fields(
            conn, one.id, now=NOW, frequency="weekly", paused_until=dt.date(2027, 1, 4)
        )
        one = subscribers.get(conn, one.id)
        batch = [
            Subscriber(
                id=0,
                email="Bo@example.org",
                name="Ada",
                profile=PROFILE,
                frequency="weekly",
                paused_until=dt.date(2027, 1, 4),
            ),
            Subscriber(id=0, email="cy@example.org", status="unsubscribed"),
        ]
        assert subscribers.add_many(conn, batch, now=NOW) == 2
    with store.begin() as conn:
        bo = subscribers.require_by_email(conn, "bo@EXAMPLE.org")
        cy = subscribers.require_by_email(conn, "cy@example.org")
        assert _fields(conn, bo)[1:] == _fields(conn, one)[1:]
        assert bo.created_at == NOW
        assert subscribers.bookkeeping(conn, cy.id)["unsubscribed_at"] == NOW
        assert subscribers.bookkeeping(conn, cy.id)["confirmed_at"] is None
        assert bo.token_nonce != one.token_nonce
        assert subscribers.listed_addresses(conn) == {
            "ada@example.org",
            "bo@example.org",
            "cy@example.org",
        }


def test_a_duplicate_address_adds_nothing(store: Store) -> None:
    with store.begin() as conn:
        subscribers.add(conn, "ada@example.org", now=NOW)
    with pytest.raises(StoreError), store.begin() as conn:
        subscribers.add_many(
            conn,
            [Subscriber(id=0, email="new@example.org"), Subscriber(id=0, email="ada@example.org")],
            now=NOW,
        )
    with store.begin() as conn:
        assert subscribers.listed_addresses(conn) == {"ada@example.org"}
