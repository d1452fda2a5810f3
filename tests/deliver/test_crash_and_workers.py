"""kill -9 in the middle of a run, and two workers on one PostgreSQL edition."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.outbox.sendbatch import FLUSH_EVERY
from newsletter.store import ledger
from newsletter.store.db import Store
from tests.support.databases import fresh_postgres_schema
from tests.support.delivery import address, seed, utcnow
from tests.support.faultsmtp import FaultServer

ROOT = Path(__file__).resolve().parents[2]


def sender(
    url: str, port: int, worker: str, policy: str, concurrency: int = 4
) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.deliver.sender_proc",
            url,
            str(port),
            worker,
            policy,
            str(concurrency),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def slow_server() -> Iterator[FaultServer]:
    server = FaultServer.start(delay=0.004)
    yield server
    server.stop()


def test_kill_9_mid_run_then_the_next_run_completes_it(
    tmp_path: Path, slow_server: FaultServer
) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    store = Store.open(url, now=utcnow())
    total = 2000
    edition = seed(store, total)
    first = sender(url, slow_server.port, "first", "resend")
    deadline = time.monotonic() + 60
    while not slow_server.script.wait_accepted(600, timeout=0.5):
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the first sender did not reach 600 messages"
    first.send_signal(signal.SIGKILL)
    first.wait()
    received_at_kill = len(slow_server.script.accepted)
    assert 600 <= received_at_kill < total
    with store.begin() as conn:
        at_kill = ledger.counts(conn, edition.id)
    assert at_kill["sent"] < total and at_kill["pending"] > 0, at_kill

    second = sender(url, slow_server.port, "second", "resend")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    report = json.loads(out)
    assert report["finished"]

    with store.begin() as conn:
        rows = ledger.rows(conn, edition.id)
    assert len(rows) == total and {r.state for r in rows} == {"sent"}
    assert len({r.subscriber_id for r in rows}) == total
    copies = slow_server.delivered()
    assert sorted(copies) == sorted(address(i) for i in range(total))  # zero missing
    duplicates = sum(n - 1 for n in copies.values())
    # a duplicate is only possible for a row whose body was out when the sender died
    reaped_unknown = sum(1 for r in rows if r.attempts > 1 and r.data_started_at is not None)
    assert duplicates <= reaped_unknown
    # and at most the results not yet recorded plus the messages in flight
    assert duplicates <= FLUSH_EVERY + 4
    store.close()


@pytest.mark.postgres
def test_two_workers_on_postgresql_zero_duplicates_zero_missing(slow_server: FaultServer) -> None:
    slow_server.script.delay = 0.0
    total = 5000
    with fresh_postgres_schema() as url:
        store = Store.open(url, now=utcnow())
        edition = seed(store, total)
        workers = [sender(url, slow_server.port, f"w{i}", "skip", 4) for i in range(2)]
        reports = []
        for proc in workers:
            out, err = proc.communicate(timeout=170)
            assert proc.returncode == 0, err
            reports.append(json.loads(out))
        with store.begin() as conn:
            counts = ledger.counts(conn, edition.id)
            claimed_by = {
                r.claimed_by.rsplit(":", 1)[-1]
                for r in ledger.rows(conn, edition.id)
                if r.claimed_by
            }
        store.close()
    assert counts["sent"] == total
    assert claimed_by == {"w0", "w1"}  # both workers really sent
    assert sum(r["sent_now"] for r in reports) == total
    copies = slow_server.delivered()
    assert len(copies) == total and set(copies.values()) == {1}
