"""Editions keep the sources they were made from and the missing ones (m010), and can be
discarded only while none of their messages can have reached a reader. SQLite and
PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from newsletter.deliver import SendResult
from newsletter.errors import ConstraintError
from newsletter.models import Paper
from newsletter.store import editions, ledger, locks, migrations, subscribers
from newsletter.store.db import Store

NOW = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 12, 1)
PAPERS = [Paper(arxiv_id=f"2612.0000{i}", title=f"Paper {i}", abstract="text") for i in range(3)]
MISSING = (("hf_daily", "source hf_daily: HTTP 503 after 4 attempts"),)


def test_an_edition_keeps_its_sources_and_the_missing_ones(store: Store) -> None:
    with store.begin() as conn:
        made = editions.freeze(
            conn, DAY, PAPERS, sources=["arxiv_rss:cs.LG"], missing=MISSING, now=NOW
        )
    with store.begin() as conn:
        found = editions.get_by_date(conn, DAY)
    assert found == made
    assert (found.sources, found.missing) == (("arxiv_rss:cs.LG",), MISSING)


def test_m010_adds_the_column_to_an_existing_database_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store.open(url, now=NOW)
    with store.begin() as conn:  # a database from before m010: no column, no record of it
        editions.freeze(conn, DAY, PAPERS, sources=["hf_daily"], now=NOW)
        conn.execute(text("ALTER TABLE editions DROP COLUMN missing"))
        conn.execute(text("DELETE FROM migrations WHERE name = 'm010_edition_missing_sources'"))
    store.close()

    reopened = Store.open(url, now=NOW)
    with reopened.begin() as conn:
        assert "missing" in {c["name"] for c in inspect(conn).get_columns("editions")}
        old = editions.get_by_date(conn, DAY)
        migrations.m010_edition_missing_sources(conn)  # idempotent
    assert old is not None and old.missing == () and old.sources == ("hf_daily",)
    assert reopened.pending_migrations() == []
    reopened.close()


def queue(store: Store, states: list[str]) -> int:
    """An edition with one ledger row per state (``started``: pending with data started)."""
    with store.begin() as conn:
        edition = editions.freeze(conn, DAY, PAPERS, sources=["hf_daily"], now=NOW)
        people = [
            subscribers.add(conn, f"r{i}@example.org", now=NOW).id for i in range(len(states))
        ]
        ledger.enqueue(conn, edition.id, people, NOW)
        rows = {row.subscriber_id: row for row in ledger.rows(conn, edition.id)}
        for person, state in zip(people, states, strict=True):
            if state == "pending":
                continue
            conn.execute(
                text("UPDATE ledger SET state = :s WHERE id = :i"),
                {"s": "pending" if state == "started" else state, "i": rows[person].id},
            )
            if state == "started":
                conn.execute(
                    text("UPDATE ledger SET data_started_at = :t WHERE id = :i"),
                    {"t": NOW, "i": rows[person].id},
                )
    return edition.id


def test_an_edition_nobody_can_have_received_is_discarded(store: Store) -> None:
    edition_id = queue(store, ["pending", "deferred", "failed"])
    with store.begin() as conn:
        assert editions.gone_out(conn, edition_id) is None
        assert editions.discard(conn, edition_id) == 3
    with store.begin() as conn:
        assert editions.get_by_date(conn, DAY) is None
        assert ledger.rows(conn, edition_id) == []


@pytest.mark.parametrize(
    ("states", "reason"),
    [
        (["pending", "sent"], "1 sent"),
        (["unknown", "deferred"], "1 unknown"),
        (["sending"], "1 sending"),
        (["started", "sent", "sent"], "2 sent, 1 started"),
    ],
)
def test_an_edition_that_may_have_gone_out_says_why(
    store: Store, states: list[str], reason: str
) -> None:
    edition_id = queue(store, states)
    with store.begin() as conn:
        assert editions.gone_out(conn, edition_id) == reason


def test_a_row_claimed_meanwhile_stops_the_discard(store: Store) -> None:
    edition_id = queue(store, ["pending", "pending"])
    with store.begin() as conn:
        assert editions.gone_out(conn, edition_id) is None
    with store.begin() as conn:  # a worker claims one row after the check
        locks.take_lease(conn, "worker-1", 600)
        [row] = ledger.claim(conn, edition_id, "worker-1", 1, NOW)
    with pytest.raises(ConstraintError), store.begin() as conn:
        editions.discard(conn, edition_id)
    with store.begin() as conn:  # rolled back: the edition and both rows are still there
        assert editions.get_by_date(conn, DAY) is not None
        assert len(ledger.rows(conn, edition_id)) == 2
        ledger.record(conn, row.id, SendResult("sent", 250, "ok"), NOW, worker="worker-1")
        assert editions.gone_out(conn, edition_id) == "1 sent"
