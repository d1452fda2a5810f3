"""The chaos driver: an edition of a few hundred readers sent through many faults at once.

Used by ``tests/deliver/test_chaos.py`` (a short seeded run in CI, on SQLite and on
PostgreSQL) and ``bench/chaos.py`` (the long run, numbers in the README).

An SMTP round: a fresh database and edition, and the scripted SMTP server answering badly
for readers the seed picks: a malformed reply to the final dot ("hello", "25O ok",
"999 weird"), a drop after the final dot, a drop after 354, greylisting once, and
greylisting all day. A first sender starts; once part of the edition is out, one process
fault: ``kill9`` (kill -9, then a second sender), ``pause`` (SIGSTOP longer than the
lease while a second sender works, then SIGCONT), ``skew`` (a second sender whose clock
runs 5 minutes ahead or behind) or ``second`` (a second sender beside the first). A last
sender finishes the day. Then the next day's ``newsletter run`` (a day without a digest,
its clock a day ahead under libfaketime) against a healthy server sends the first day's
deferred messages.

A Maildir round: a sender whose files may not grow past a limit (EFBIG, as on a full
disk) while some readers' messages, and others' HTML copies, are bigger; then a sender
with room.

The invariant, from what the server received (or ``new/`` holds): every row ends ``sent``
or ``unknown``; a ``sent`` row has exactly one copy; more than one copy only for an
``unknown`` row; no row deferred past its give-up time; nothing left in ``tmp/``.
``unknown`` rows without a copy (a sender killed between its data-start mark and the
final dot) are counted and reported, never resent (UNKNOWN_POLICY=skip).
"""

from __future__ import annotations

import collections
import datetime as dt
import email
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from newsletter.store import ledger
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table
from tests.deliver.procs import (
    ROOT,
    busy_probe,
    lease_expired,
    pause_outside_transactions,
    start_sender,
    wait_for,
)
from tests.support.delivery import address, seed, utcnow
from tests.support.faultsmtp import FaultServer, Rule

SCENARIOS = ("kill9", "pause", "skew", "second")
MALFORMED = ("hello", "25O ok", "999 weird")
SATURDAY = "2026-11-28"  # the day after the edition's day: no digest, only retries
LEASE = 2.0
GIVE_UP = dt.timedelta(hours=72)
MiB = 1024 * 1024
Databases = Callable[[], AbstractContextManager[str]]


@dataclass
class RoundResult:
    kind: str
    readers: int
    faults: collections.Counter[str] = field(default_factory=collections.Counter)
    copies: int = 0
    duplicates: int = 0
    unknown: int = 0
    unknown_without_copy: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        faults = ", ".join(f"{k} {n}" for k, n in sorted(self.faults.items()) if n)
        verdict = "OK" if not self.violations else f"{len(self.violations)} VIOLATIONS"
        return (
            f"{self.kind:14} {self.readers} readers, {self.copies} copies, {self.duplicates}"
            f" duplicates, {self.unknown} unknown ({self.unknown_without_copy} without a"
            f" copy), {self.seconds:.1f}s: {verdict}; faults: {faults}"
        )


def states(store: Store) -> dict[str, ledger.LedgerRow]:
    with store.begin() as conn:
        emails = dict(conn.execute(select(subscribers_table.c.id, subscribers_table.c.email)).all())
        return {emails[r.subscriber_id]: r for r in ledger.rows(conn, 1)}


def judge(result: RoundResult, rows: dict[str, ledger.LedgerRow], copies: dict[str, int]) -> None:
    """Check the invariant; fill in the counts."""
    now = utcnow()
    result.copies = sum(copies.values())
    result.duplicates = sum(n - 1 for n in copies.values() if n > 1)
    for email_address, row in sorted(rows.items()):
        got = copies.get(email_address, 0)
        if row.state == "unknown":
            result.unknown += 1
            result.unknown_without_copy += got == 0
        elif row.state != "sent":
            late = row.state == "deferred" and now - row.created_at > GIVE_UP
            result.violations.append(
                f"{email_address}: left {row.state}{' past its give-up time' if late else ''}"
                f" ({row.last_code} {row.last_text})"
            )
        elif got != 1:
            result.violations.append(f"{email_address}: sent, but {got} copies")
    strangers = set(copies) - set(rows)
    result.violations += [f"{a}: received a message but has no row" for a in sorted(strangers)]


def _finish(proc: subprocess.Popen[str], name: str, result: RoundResult, timeout: float) -> None:
    try:
        _out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        result.violations.append(f"sender {name} did not finish within {timeout:g}s")
        return
    if "Traceback" in err:
        result.violations.append(f"sender {name} printed a traceback: {err[-600:]}")
    elif proc.returncode not in (0, 1, -signal.SIGKILL):
        result.violations.append(f"sender {name} exited {proc.returncode}: {err[-300:]}")


def smtp_round(url: str, rng: random.Random, readers: int, scenario: str) -> RoundResult:
    result = RoundResult(f"smtp:{scenario}", readers)
    started = time.monotonic()
    store = Store.open(url, now=utcnow())
    seed(store, readers)
    picked = rng.sample(range(readers), k=min(readers, 5 * max(2, readers // 50)))
    group = len(picked) // 5
    rules: dict[str, list[Rule]] = {
        "malformed reply to the final dot": [
            Rule("body", rng.choice(MALFORMED), match=address(i), times=1) for i in picked[:group]
        ],
        "drop after the final dot": [
            Rule("body", "drop", match=address(i), times=1) for i in picked[group : 2 * group]
        ],
        "drop after 354": [
            Rule("after354", "drop", match=address(i), times=1)
            for i in picked[2 * group : 3 * group]
        ],
        "greylisted once": [
            Rule("rcpt", "451 4.7.1 Greylisted, try again later", match=address(i), times=1)
            for i in picked[3 * group : 4 * group]
        ],
        "deferred all day": [
            Rule("rcpt", "450 4.2.1 Mailbox busy", match=address(i))
            for i in picked[4 * group : 5 * group]
        ],
    }
    server = FaultServer.start([r for kind in rules.values() for r in kind], delay=0.004)
    try:
        _senders(url, server, rng, readers, scenario, result)
        # The next day: the server is healthy; the daily job sends yesterday's deferrals.
        server.script.rules[:] = [r for r in server.script.rules if r.times is not None]
        _next_day(url, server, result)
        for kind, kind_rules in rules.items():
            result.faults[kind] = sum(min(r.fired, 1) for r in kind_rules)
        judge(result, states(store), dict(server.delivered()))
    finally:
        server.stop()
        store.close()
    result.seconds = time.monotonic() - started
    return result


def _senders(
    url: str,
    server: FaultServer,
    rng: random.Random,
    readers: int,
    scenario: str,
    result: RoundResult,
) -> None:
    first = start_sender(url, server.port, "first", lease=LEASE)
    target = rng.randint(readers // 10, readers // 2)
    wait_for(
        lambda: len(server.script.accepted) >= target or first.poll() is not None,
        120,
        "the first sender to get going",
    )
    if scenario == "kill9":
        first.send_signal(signal.SIGKILL)
        result.faults["kill -9"] += 1
        second = start_sender(url, server.port, "second", lease=LEASE)
        _finish(first, "first", result, 30)
        _finish(second, "second", result, 180)
    elif scenario == "pause":
        if first.poll() is None:
            pause_outside_transactions(first, busy_probe(url, "first"))
            result.faults["SIGSTOP past the lease"] += 1
        store = Store.open(url, now=utcnow())
        second = start_sender(url, server.port, "second", lease=LEASE)
        wait_for(lambda: lease_expired(store, "first"), 60, "the paused sender's lease")
        store.close()
        _finish(second, "second", result, 180)
        first.send_signal(signal.SIGCONT)
        _finish(first, "first", result, 60)
    elif scenario == "skew":
        skew = rng.choice([-300.0, 300.0])
        second = start_sender(url, server.port, "second", lease=LEASE, skew=skew)
        result.faults["clock skew 5 min"] += 1
        _finish(first, "first", result, 180)
        _finish(second, "second", result, 180)
    else:
        second = start_sender(url, server.port, "second", lease=LEASE)
        _finish(first, "first", result, 180)
        _finish(second, "second", result, 180)
    result.faults["second sender"] += 1
    last = start_sender(url, server.port, "last", lease=LEASE)
    _finish(last, "last", result, 180)


def _next_day(url: str, server: FaultServer, result: RoundResult) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NEWSLETTER_DATABASE_URL": url,
        "NEWSLETTER_SOURCES": "sample",
        "NEWSLETTER_SCHEDULE": "weekdays",
        "NEWSLETTER_DELIVERY": "smtp",
        "NEWSLETTER_SMTP_HOST": server.host,
        "NEWSLETTER_SMTP_PORT": str(server.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_SECRET_KEY": "x" * 32,
    }
    tomorrow = ["faketime", "-f", "+1d"]
    done = subprocess.run(
        [*tomorrow, sys.executable, "-m", "newsletter", "-q", "run", "--date", SATURDAY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    result.faults["next day's run"] += 1
    if done.returncode != 0 or "Traceback" in done.stderr:
        result.violations.append(f"next day's run exited {done.returncode}: {done.stderr[-600:]}")


def maildir_round(url: str, rng: random.Random, readers: int, tmp: Path) -> RoundResult:
    """Disk full while writing: some messages, and some HTML copies, do not fit."""
    result = RoundResult("maildir:full", readers)
    started = time.monotonic()
    store = Store.open(url, now=utcnow())
    seed(store, readers)
    with store.begin() as conn:
        ids = list(conn.execute(select(subscribers_table.c.id)).scalars())
    picked = rng.sample(ids, k=min(len(ids), 6))
    big_message, big_html = picked[:3], picked[3:]
    outbox = tmp / "outbox"
    limit = 8 * MiB  # above what the SQLite ledger and its WAL need
    common = [sys.executable, "-m", "tests.deliver.maildir_proc", str(outbox)]
    for name, size in (("disk full", limit), ("room again", 0)):
        done = subprocess.run(
            [*common, str(size), "200", url,
             "--big-message", ",".join(map(str, big_message)),
             "--big-html", ",".join(map(str, big_html))],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=180,
        )  # fmt: skip
        if done.returncode != 0:
            result.violations.append(f"maildir sender ({name}) exited {done.returncode}")
    result.faults["message too big for the disk"] = len(big_message)
    result.faults["HTML copy too big for the disk"] = len(big_html)
    copies = collections.Counter(
        str(email.message_from_bytes(p.read_bytes())["To"]) for p in (outbox / "new").iterdir()
    )
    judge(result, states(store), dict(copies))
    left = list((outbox / "tmp").iterdir()) + list((outbox / "html").glob(".*.tmp"))
    result.violations += [f"partial file left: {p.name}" for p in left]
    store.close()
    result.seconds = time.monotonic() - started
    return result


def run_rounds(
    databases: Databases,
    tmp: Path,
    *,
    rounds: int,
    seed_value: int,
    readers: int,
    scenarios: tuple[str, ...] = SCENARIOS,
    maildir_every: int = 4,
) -> Iterator[RoundResult]:
    """``rounds`` rounds: SMTP rounds cycling through ``scenarios`` (a seeded order), and
    every ``maildir_every``-th round a Maildir one (0: none). Each on a fresh database."""
    rng = random.Random(seed_value)
    order = list(scenarios)
    rng.shuffle(order)
    smtp_rounds = 0
    for index in range(rounds):
        with databases() as url:
            if maildir_every and index % maildir_every == maildir_every - 1:
                folder = tmp / f"round-{index}"
                folder.mkdir(parents=True)
                yield maildir_round(url, rng, readers // 3, folder)
            else:
                yield smtp_round(url, rng, readers, order[smtp_rounds % len(order)])
                smtp_rounds += 1
