from __future__ import annotations

import datetime as dt

import pytest

from newsletter.errors import InputError, NotFoundError
from newsletter.models import Paper, Profile
from newsletter.store import editions, subscribers
from newsletter.store.db import Store

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 26)


def test_add_get_and_profile_roundtrip(store: Store) -> None:
    with store.begin() as conn:
        added = subscribers.add(
            conn,
            "Ada@Example.ORG",
            now=NOW,
            name="  Ada   Lovelace ",
            profile=Profile(
                topics=("LoRA fine-tuning", " lora  fine-tuning", "robots"), exclude=("survey",)
            ),
        )
    with store.begin() as conn:
        found = subscribers.require_by_email(conn, "ada@example.org")
    assert found == added
    assert found.email == "Ada@example.org"
    assert found.name == "Ada Lovelace"
    assert found.profile.topics == ("LoRA fine-tuning", "robots")
    assert found.profile.exclude == ("survey",)
    assert found.created_at == NOW


def test_duplicate_and_invalid_addresses_are_clear_errors(store: Store) -> None:
    with store.begin() as conn:
        subscribers.add(conn, "a@example.org", now=NOW)
    with pytest.raises(InputError, match="already on the list"), store.begin() as conn:
        subscribers.add(conn, "A@EXAMPLE.org", now=NOW)
    for bad in ["no-at-sign", "a@b", "x@example.org\r\nBcc: victim@example.org", "<a@b.c>"]:
        with pytest.raises(InputError, match="not a valid email"), store.begin() as conn:
            subscribers.add(conn, bad, now=NOW)


def test_sendable_ids_follow_status_pause_and_frequency(store: Store) -> None:
    with store.begin() as conn:
        active = subscribers.add(conn, "active@example.org", now=NOW)
        pending = subscribers.add(conn, "pending@example.org", now=NOW, status="pending")
        gone = subscribers.add(conn, "gone@example.org", now=NOW)
        subscribers.set_status(conn, gone.id, "unsubscribed", now=NOW)
        paused = subscribers.add(conn, "paused@example.org", now=NOW)
        subscribers.update_fields(
            conn, paused.id, now=NOW, status="paused", paused_until=DAY + dt.timedelta(days=2)
        )
        weekly = subscribers.add(conn, "weekly@example.org", now=NOW)
        subscribers.update_fields(conn, weekly.id, now=NOW, frequency="weekly")
    with store.begin() as conn:
        assert subscribers.sendable_ids(conn, DAY) == [active.id]
        assert subscribers.sendable_ids(conn, DAY, weekly_due=True) == [active.id, weekly.id]
        later = subscribers.sendable_ids(conn, DAY + dt.timedelta(days=2))
        assert later == [active.id, paused.id]
        counts = subscribers.count_by_status(conn)
    assert pending.id not in later
    assert counts == {"pending": 1, "active": 2, "paused": 1, "unsubscribed": 1, "bounced": 0}


def test_remove_forgets_the_subscriber(store: Store) -> None:
    with store.begin() as conn:
        subscribers.add(conn, "bye@example.org", now=NOW)
        subscribers.remove(conn, "bye@example.org")
        assert subscribers.get_by_email(conn, "bye@example.org") is None
    with pytest.raises(NotFoundError), store.begin() as conn:
        subscribers.remove(conn, "bye@example.org")


def test_edition_is_frozen_once(store: Store) -> None:
    first = [Paper("2611.00001", "A <b>title</b>", "Abstract.", authors=("A. B",), upvotes=3)]
    second = [Paper("2611.00002", "Other", "Other abstract.")]
    with store.begin() as conn:
        frozen = editions.freeze(conn, DAY, first, sources=["sample"], now=NOW)
    with store.begin() as conn:
        again = editions.freeze(conn, DAY, second, sources=["sample"], now=NOW)
        known = editions.known_papers(conn, ["2611.00001", "2611.00002"])
    assert again.id == frozen.id
    assert again.papers == tuple(first)
    assert set(known) == {"2611.00001"}
    assert known["2611.00001"] == first[0]
