"""Ledger and lock semantics on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

import newsletter.cli.db  # noqa: F401  (registers `newsletter db`)
from newsletter.cli import main
from newsletter.deliver import SendResult
from newsletter.errors import LockedError
from newsletter.store import ledger, locks
from newsletter.store.db import Store
from newsletter.store.schema import locks as locks_table
from tests.support.delivery import seed, utcnow

T0 = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


def test_enqueue_is_idempotent_and_claims_never_overlap(store: Store) -> None:
    edition = seed(store, 10)
    with store.begin() as conn:
        for worker in "abc":
            locks.take_lease(conn, worker, 60)
        assert ledger.enqueue(conn, edition.id, range(1, 11), T0) == 0
        first = ledger.claim(conn, edition.id, "a", 4, T0)
        second = ledger.claim(conn, edition.id, "b", 100, T0)
        third = ledger.claim(conn, edition.id, "c", 100, T0)
    assert len(first) == 4 and len(second) == 6 and third == []
    assert not {r.id for r in first} & {r.id for r in second}
    assert {r.claimed_by for r in first} == {"a"} and {r.state for r in second} == {"sending"}


def test_deferred_rows_are_claimed_only_when_due_and_sent_rows_never(store: Store) -> None:
    edition = seed(store, 3)
    later = T0 + dt.timedelta(minutes=10)
    with store.begin() as conn:
        locks.take_lease(conn, "w", 60)
        a, b, c = ledger.claim(conn, edition.id, "w", 10, T0)
        assert ledger.record(conn, a.id, SendResult("sent", 250, "ok"), T0, worker="w")
        assert ledger.record(
            conn, b.id, SendResult("deferred", 451, "later"), T0, worker="w", next_attempt_at=later
        )
        assert ledger.record(conn, c.id, SendResult("unknown", None, "dropped"), T0, worker="w")
        assert not ledger.record(conn, a.id, SendResult("failed", 550, "x"), T0, worker="w")
        assert ledger.claim(conn, edition.id, "w", 10, T0 + dt.timedelta(minutes=5)) == []
        assert ledger.next_due(conn, edition.id) == later
        due = ledger.claim(conn, edition.id, "w", 10, later)
        assert [r.id for r in due] == [b.id] and due[0].attempts == 1
        # unknown rows come back only under the "resend" policy
        assert [
            r.id for r in ledger.claim(conn, edition.id, "w", 10, later, include_unknown=True)
        ] == [c.id]
        assert ledger.counts(conn, edition.id) == {
            "pending": 0, "sending": 2, "sent": 1, "deferred": 0, "failed": 0, "unknown": 0,
        }  # fmt: skip


def test_reaper_returns_orphans_to_a_safe_state(store: Store) -> None:
    edition = seed(store, 4)
    with store.begin() as conn:
        locks.take_lease(conn, "dead-worker", 60)
        locks.take_lease(conn, "live", 60)
        rows = ledger.claim(conn, edition.id, "dead-worker", 4, T0)
        marked = ledger.mark_data_started_many(conn, [rows[0].id], T0, worker="dead-worker")
        assert marked == {rows[0].id}
        live = ledger.claim(conn, edition.id, "live", 4, T0)
        assert live == []
        reaped = ledger.reap(conn, T0 - dt.timedelta(hours=1), T0, dead_workers=["dead-worker"])
        assert reaped == 4
        states = {r.id: r.state for r in ledger.rows(conn, edition.id)}
    assert states[rows[0].id] == "unknown"  # the body may have gone out
    assert [states[r.id] for r in rows[1:]] == ["pending"] * 3


def test_lock_excludes_a_second_holder_until_expiry_or_release(store: Store) -> None:
    with store.begin() as conn:
        locks.acquire(conn, "send", "host-a:1:x", T0, 60)
        locks.acquire(conn, "send", "host-a:1:x", T0, 60)  # renewing is fine
    expected = "another run holds the 'send' lock \\(host-a:1:x since"
    with pytest.raises(LockedError, match=expected), store.begin() as conn:
        locks.acquire(conn, "send", "host-b:2:y", T0 + dt.timedelta(seconds=30), 60)
    with store.begin() as conn:
        locks.acquire(conn, "send", "host-b:2:y", T0 + dt.timedelta(seconds=61), 60)
        locks.release(conn, "send", "host-b:2:y")
        locks.acquire(conn, "send", "host-c:3:z", T0, 60)


def test_lock_of_a_dead_local_process_is_taken_over(sqlite_store: Store) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    import socket

    dead = f"{socket.gethostname()}:{child.pid}:abcd"
    with sqlite_store.begin() as conn:
        locks.acquire(conn, "send", dead, T0, 3600)
        locks.acquire(conn, "send", locks.holder_id(), T0, 3600)
    alive = locks.holder_id()
    with pytest.raises(LockedError), sqlite_store.begin() as conn:
        locks.acquire(conn, "send", alive, T0, 3600)


def test_hold_releases_on_error(sqlite_store: Store) -> None:
    with pytest.raises(RuntimeError), locks.hold(sqlite_store, "run", "h1", utcnow(), 60):
        raise RuntimeError("boom")
    with locks.hold(sqlite_store, "run", "h2", utcnow(), 60):
        pass


def test_db_upgrade_and_status_commands(tmp_path: object) -> None:
    runner = CliRunner()
    env = {"NEWSLETTER_DATABASE_URL": "sqlite:///db/n.db"}
    first = runner.invoke(main, ["db", "status"], env=env)
    assert first.exit_code == 0, first.output
    assert "pending  m001_initial" in first.output
    assert "pending  m002_ledger_data_started" in first.output
    assert not Path("db/n.db").exists()  # db status creates nothing
    up = runner.invoke(main, ["db", "upgrade"], env=env)
    assert up.exit_code == 0 and "applied m001_initial" in up.output
    again = runner.invoke(main, ["db", "upgrade"], env=env)
    assert again.output.strip() == "database is up to date"
    assert (
        "applied  m002_ledger_data_started" in runner.invoke(main, ["db", "status"], env=env).output
    )


def test_only_the_owner_with_a_valid_lease_marks_or_records_a_row(store: Store) -> None:
    edition = seed(store, 2)
    with store.begin() as conn:
        locks.take_lease(conn, "a", 60)
        locks.take_lease(conn, "b", 60)
        ids = [r.id for r in ledger.claim(conn, edition.id, "a", 2, T0)]
        assert ledger.mark_data_started_many(conn, ids, T0, worker="b") == set()
        assert ledger.reap(conn, T0 - dt.timedelta(hours=1), T0) == 0  # a's lease is valid
        # a's lease runs out by the database's clock, whatever the callers' clocks say
        conn.execute(
            update(locks_table)
            .where(locks_table.c.name == locks.lease_name("a"))
            .values(expires_at=locks.database_now(conn) - dt.timedelta(seconds=1))
        )
        assert not locks.has_lease(conn, "a") and not locks.renew_lease(conn, "a", 60)
        assert ledger.mark_data_started_many(conn, ids, T0, worker="a") == set()
        assert ledger.reap(conn, T0 - dt.timedelta(hours=1), T0) == 2
        assert ledger.claim(conn, edition.id, "a", 2, T0) == []  # no lease, no claim
        taken = ledger.claim(conn, edition.id, "b", 2, T0)
        assert [r.id for r in taken] == ids
        assert ledger.mark_data_started_many(conn, ids, T0, worker="a") == set()
        assert not ledger.record(conn, ids[0], SendResult("sent", 250, "ok"), T0, worker="a")
        assert ledger.mark_data_started_many(conn, ids, T0, worker="b") == set(ids)
        assert ledger.record(conn, ids[0], SendResult("sent", 250, "ok"), T0, worker="b")
