"""Sender processes for tests that pause, kill or skew them, and a database probe.

``start_sender`` runs ``tests.deliver.sender_proc``; ``pause_outside_transactions``
stops a process with SIGSTOP at a moment it holds no database transaction open (a
SQLite writer or a PostgreSQL session stopped inside a transaction blocks everyone else's
writes until it resumes, which is a different fault from the one these tests inject).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import select

from newsletter.store.db import Store
from newsletter.store.schema import locks as locks_table

ROOT = Path(__file__).resolve().parents[2]


def with_application_name(url: str, name: str) -> str:
    """A PostgreSQL URL whose sessions show ``name`` in pg_stat_activity."""
    if not url.startswith("postgresql"):
        return url
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def start_sender(
    url: str,
    port: int,
    worker: str,
    *,
    policy: str = "skip",
    concurrency: int = 4,
    lease: float = 5.0,
    skew: float = 0.0,
    batch: int = 20,
    prefix: Sequence[str] = (),
) -> subprocess.Popen[str]:
    command = [
        *prefix, sys.executable, "-m", "tests.deliver.sender_proc",
        with_application_name(url, f"sender-{worker}"), str(port), worker, policy,
        str(concurrency), "--lease", str(lease), "--skew", str(skew), "--batch", str(batch),
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return fh.read().rpartition(")")[2].split()[0]


def busy_probe(url: str, worker: str) -> Callable[[], bool]:
    """True while the sender named ``worker`` holds a transaction open."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]

        def sqlite_busy() -> bool:
            probe = sqlite3.connect(path, timeout=0.05, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:
                return True
            finally:
                probe.close()

        return sqlite_busy
    import psycopg

    base = url.split("?", 1)[0]

    def postgres_busy() -> bool:
        with psycopg.connect(base, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = %s AND state <> 'idle'",
                (f"sender-{worker}",),
            ).fetchone()
        return bool(row and row[0])

    return postgres_busy


def pause_outside_transactions(proc: subprocess.Popen[str], busy: Callable[[], bool]) -> None:
    """SIGSTOP ``proc`` at a moment it holds no transaction (retrying a few hundred times)."""
    for _ in range(500):
        proc.send_signal(signal.SIGSTOP)
        while _state(proc.pid) != "T":
            time.sleep(0.001)
        if not busy():
            return
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.003)
    raise AssertionError("the sender was always inside a transaction")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def lease_expired(store: Store, worker: str, margin: float = 0.3) -> bool:
    """The lease of the sender named ``worker`` has expired (with ``margin`` seconds)."""
    with store.begin() as conn:
        rows = conn.execute(
            select(locks_table.c.holder, locks_table.c.expires_at).where(
                locks_table.c.name.startswith("lease:")
            )
        ).all()
    mine = [expires for holder, expires in rows if holder.endswith(f":{worker}")]
    now = dt.datetime.now(dt.UTC)
    return all(expires + dt.timedelta(seconds=margin) < now for expires in mine)


def lease_taken(store: Store, worker: str) -> bool:
    """The sender named ``worker`` has taken its lease (it is about to claim)."""
    with store.begin() as conn:
        holders = conn.execute(
            select(locks_table.c.holder).where(locks_table.c.name.startswith("lease:"))
        ).scalars()
        return any(holder.endswith(f":{worker}") for holder in holders)
