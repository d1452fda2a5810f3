"""A sender owns a claimed row only while its lease is valid by the database's clock.

The faults of issue 12 ("sent twice" 1): a sender paused longer than its lease while a
second sender takes over, and a sender whose clock runs ahead of the others. Counted from
what the SMTP server received: nobody missing, and a second copy only for a row the
ledger leaves ``unknown``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.store import ledger
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table
from tests.deliver.procs import (
    ROOT,
    busy_probe,
    lease_expired,
    lease_taken,
    pause_outside_transactions,
    start_sender,
    wait_for,
)
from tests.support.databases import fresh_postgres_schema
from tests.support.delivery import address, seed, utcnow
from tests.support.faultsmtp import FaultServer
from tests.support.needs import need

COUNT = 300


@pytest.fixture
def slow_server() -> Iterator[FaultServer]:
    server = FaultServer.start(delay=0.01)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'owners.db'}"
    else:
        with fresh_postgres_schema() as pg_url:
            yield pg_url


def states_by_address(store: Store) -> dict[str, str]:
    with store.begin() as conn:
        emails = dict(conn.execute(select(subscribers_table.c.id, subscribers_table.c.email)).all())
        return {emails[r.subscriber_id]: r.state for r in ledger.rows(conn, 1)}


def assert_never_twice_never_lost(server: FaultServer, store: Store) -> dict[str, str]:
    copies = server.delivered()
    states = states_by_address(store)
    assert sorted(states) == sorted(address(i) for i in range(COUNT))
    # Nothing lost in silence: a reader without a copy is one whose row the ledger leaves
    # `unknown` (the paused sender had started DATA and never finished it; `status` shows
    # it, `send --resend-failed --include-unknown` resends it), never one marked sent.
    missing = {a: states[a] for a in states if a not in copies}
    assert set(missing.values()) <= {"unknown"}, missing
    twice = {a: states[a] for a, n in copies.items() if n > 1}
    assert set(twice.values()) <= {"unknown"}, twice  # a second copy only for an unknown row
    assert set(states.values()) <= {"sent", "unknown"}, states
    return states


def test_a_sender_paused_past_its_lease_stops_and_sends_nothing_it_no_longer_owns(
    url: str, slow_server: FaultServer
) -> None:
    store = Store.open(url, now=utcnow())
    seed(store, COUNT)
    first = start_sender(url, slow_server.port, "first", lease=2.0)
    wait_for(lambda: len(slow_server.script.accepted) >= 30, 60, "the first sender to start")
    pause_outside_transactions(first, busy_probe(url, "first"))
    wait_for(lambda: lease_expired(store, "first"), 30, "the paused sender's lease to expire")
    second = start_sender(url, slow_server.port, "second", lease=2.0)
    _out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    first.send_signal(signal.SIGCONT)
    _out, first_err = first.communicate(timeout=60)
    states = assert_never_twice_never_lost(slow_server, store)
    # The paused sender noticed on waking that it had lost its rows, and said so.
    assert first.returncode == 1, first_err
    assert "lease" in first_err and "Traceback" not in first_err
    assert list(states.values()).count("unknown") <= 8  # at most what it had in flight
    store.close()


def test_a_sender_whose_clock_runs_ahead_takes_nothing_from_a_live_one(
    url: str, slow_server: FaultServer
) -> None:
    store = Store.open(url, now=utcnow())
    seed(store, COUNT)
    slow_server.script.delay = 0.3  # the first sender holds rows until the second is up
    honest = start_sender(url, slow_server.port, "honest", lease=3.0)
    wait_for(lambda: len(slow_server.script.accepted) >= 8, 60, "the first sender to start")
    ahead = start_sender(url, slow_server.port, "ahead", lease=3.0, skew=300.0)
    wait_for(lambda: lease_taken(store, "ahead"), 60, "the second sender to start")
    slow_server.script.delay = 0.01
    for proc in (honest, ahead):
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    states = assert_never_twice_never_lost(slow_server, store)
    assert set(states.values()) == {"sent"}  # nothing was taken over, so nothing is unknown
    assert set(slow_server.delivered().values()) == {1}
    store.close()


@pytest.mark.postgres
def test_two_cli_workers_one_five_minutes_ahead_under_faketime(slow_server: FaultServer) -> None:
    """The reported case end to end: `newsletter send --worker` twice on PostgreSQL, one
    of them on a machine whose clock is 5 minutes ahead (libfaketime)."""
    need(shutil.which("faketime"), "faketime not installed (apt package faketime)")
    with fresh_postgres_schema() as url:
        store = Store.open(url, now=utcnow())
        seed(store, 200)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "NEWSLETTER_DATABASE_URL": url,
            "NEWSLETTER_DELIVERY": "smtp",
            "NEWSLETTER_SMTP_HOST": slow_server.host,
            "NEWSLETTER_SMTP_PORT": str(slow_server.port),
            "NEWSLETTER_SMTP_SECURITY": "none",
            "NEWSLETTER_SECRET_KEY": "x" * 32,
            "NEWSLETTER_WORKER_LEASE": "3",
            "NEWSLETTER_SEND_BATCH_SIZE": "10",
        }
        command = [sys.executable, "-m", "newsletter", "send", "--worker"]
        slow_server.script.delay = 0.3  # the first worker holds rows until the second is up
        honest = subprocess.Popen([*command, "honest"], cwd=ROOT, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        wait_for(lambda: len(slow_server.script.accepted) >= 8, 60, "the first worker")
        ahead = subprocess.Popen(["faketime", "-f", "+5m", *command, "ahead"], cwd=ROOT,
                                 env=env, text=True, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)  # fmt: skip
        wait_for(lambda: lease_taken(store, "ahead"), 60, "the second worker to start")
        slow_server.script.delay = 0.01
        outputs = [proc.communicate(timeout=150) for proc in (honest, ahead)]
        assert [p.returncode for p in (honest, ahead)] == [0, 0], outputs
        with store.begin() as conn:
            rows = ledger.rows(conn, 1)
            workers = {r.claimed_by.rsplit(":", 1)[-1] for r in rows if r.claimed_by}
        store.close()
    assert {r.state for r in rows} == {"sent"}
    assert workers == {"honest", "ahead"}  # both sent, neither took the other's rows
    copies = slow_server.delivered()
    assert len(copies) == 200 and set(copies.values()) == {1}
