"""Every deferred row is sent or given up, and always visible (issue 12, "lost without a word").

Day 1: one recipient answers 450, the run exits 3. Day 2: the documented cron job (or
systemd timer) runs `newsletter run` against a healthy server: day 1's row goes out. A row
still deferred after GIVE_UP_AFTER_HOURS ends `failed` with that reason, and
`status --check` flags deferred rows older than a day, whatever edition they belong to.
"""

from __future__ import annotations

import configparser
import datetime as dt
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from newsletter import pipeline
from newsletter.cli import main
from newsletter.config import Settings
from newsletter.deliver import SendResult
from newsletter.models import Paper, Profile
from newsletter.ops.status import gather
from newsletter.store import editions, ledger, locks, subscribers
from newsletter.store.db import Store
from newsletter.store.schema import ledger as ledger_table
from newsletter.store.secret import signer_for
from tests.deliver.procs import wait_for
from tests.support.delivery import utcnow
from tests.support.faultsmtp import FaultServer, Rule

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
THURSDAY = dt.date(2026, 11, 26)
SLOW = "slow@example.org"


@pytest.fixture
def server() -> Iterator[FaultServer]:
    running = FaultServer.start()
    yield running
    running.stop()


def documented_command() -> list[str]:
    """The arguments after `newsletter` in the shipped cron line and systemd unit (global
    options such as ``-q``, which only change what is printed, left out)."""
    cron = [
        line
        for line in (CONTRIB / "crontab.example").read_text().splitlines()
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]
    ]
    commands = {" ".join(shlex.split(line)[5:]).rpartition("newsletter ")[2] for line in cron}
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string((CONTRIB / "newsletter.service").read_text())
    commands.add(unit["Service"]["ExecStart"].rpartition("newsletter ")[2])
    commands = {" ".join(a for a in c.split() if a not in ("-q", "--quiet")) for c in commands}
    assert len(commands) == 1, commands
    return commands.pop().split()


def cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def row_of(url: str, email: str) -> ledger.LedgerRow:
    store = Store.open(url, now=utcnow())
    with store.begin() as conn:
        sub = subscribers.require_by_email(conn, email)
        [row] = [
            r
            for r in (ledger.rows(conn, e.id) for e in editions.recent(conn, 10))
            for r in r
            if r.subscriber_id == sub.id
        ]
    store.close()
    return row


def test_the_documented_daily_job_sends_yesterdays_deferred_message(
    tmp_path: Path, server: FaultServer
) -> None:
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    env = {
        f"NEWSLETTER_{k}": v
        for k, v in {
            "DATABASE_URL": url,
            "SOURCES": "sample",
            "DELIVERY": "smtp",
            "SMTP_HOST": server.host,
            "SMTP_PORT": str(server.port),
            "SMTP_SECURITY": "none",
            "SECRET_KEY": "x" * 32,
            "RETRY_BASE_DELAY": "1",
            "RETRY_IN_RUN_MAX_WAIT": "0",
        }.items()
    }
    for email in ("ada@example.org", SLOW):
        assert cli(env, "subscribers", "add", email, "--topic", "robots").exit_code == 0
    server.script.rules.append(Rule("rcpt", "450 4.2.1 Mailbox busy, try later", match=SLOW))
    day1 = cli(env, "run", "--date", THURSDAY.isoformat())
    assert day1.exit_code == 3, day1.output
    deferred = row_of(url, SLOW)
    assert deferred.state == "deferred" and deferred.next_attempt_at is not None
    wait_for(lambda: utcnow() > deferred.next_attempt_at, 10, "the retry to fall due")  # type: ignore[operator]
    server.script.rules.clear()  # day 2: the server is healthy again
    day2 = cli(env, *documented_command())
    assert day2.exit_code == 0, day2.output
    assert row_of(url, SLOW).state == "sent"
    assert "2026-11-26" in day2.stderr and "1 sent now" in day2.stderr
    assert server.accepted_by() == {"ada@example.org": 1, SLOW: 1}


def settings_for(url: str, server: FaultServer, **values: object) -> Settings:
    return Settings(
        _env_file=None,
        database_url=url,
        sources="sample",
        delivery="smtp",
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        secret_key="x" * 32,
        retry_base_delay=3600.0,
        retry_in_run_max_wait=0.0,
        **values,
    )


async def test_a_row_deferred_past_the_give_up_age_fails_with_that_reason(
    store: Store, database_url: str, server: FaultServer
) -> None:
    settings = settings_for(database_url, server)
    with store.begin() as conn:
        subscribers.add(conn, SLOW, now=utcnow(), profile=Profile(("robots",)))
    server.script.rules.append(Rule("rcpt", "451 4.7.1 Greylisted", match=SLOW))
    signer = signer_for(settings)
    day1 = await pipeline.run_daily(store, settings, signer, date=THURSDAY)
    assert day1.outcome == "incomplete"
    four_days_later = utcnow() + dt.timedelta(days=4)
    later = await pipeline.run_daily(
        store, settings, signer, date=THURSDAY + dt.timedelta(days=4), clock=lambda: four_days_later
    )
    with store.begin() as conn:
        [row] = ledger.rows(conn, 1)
    assert row.state == "failed"
    assert row.last_text is not None and row.last_text.startswith("gave up after 72h: ")
    assert "Greylisted" in row.last_text
    assert any("gave up on 1 message" in stage for stage in later.stages)


def test_status_check_flags_deferred_rows_older_than_a_day_in_any_edition(store: Store) -> None:
    t0 = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
    paper = Paper("2611.00001", "P", "A.", sources=("sample",))
    with store.begin() as conn:
        sub = subscribers.add(conn, SLOW, now=t0)
        old = editions.freeze(conn, THURSDAY, [paper], sources=["sample"], now=t0)
        ledger.enqueue(conn, old.id, [sub.id], t0)
        locks.take_lease(conn, "w", 60)
        [row] = ledger.claim(conn, old.id, "w", 1, t0)
        result = SendResult("deferred", 450, "4.2.1 Mailbox busy")
        ledger.record(conn, row.id, result, t0, worker="w", next_attempt_at=t0)
        newer = editions.freeze(
            conn, THURSDAY + dt.timedelta(days=1), [paper], sources=["sample"], now=t0
        )
        assert conn.execute(select(ledger_table.c.id)).scalars().all() == [row.id]
    settings = Settings(_env_file=None, database_url="sqlite://")
    with store.begin() as conn:
        fresh = gather(conn, settings, t0 + dt.timedelta(hours=2), run_limit=5, edition_limit=1)
        stale = gather(conn, settings, t0 + dt.timedelta(hours=30), run_limit=5, edition_limit=1)
    assert [e["id"] for e in stale["editions"]] == [newer.id]  # the old one is not even shown
    assert not any("more than a day" in p for p in fresh["problems"])
    [problem] = [p for p in stale["problems"] if "more than a day" in p]
    assert "1 message deferred for more than a day" in problem
    assert SLOW in problem and "2026-11-26" in problem and "450" in problem


async def test_an_earlier_editions_retry_refused_for_good_is_reported(
    sqlite_store: Store, tmp_path: Path, server: FaultServer
) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'test.db'}", server)
    with sqlite_store.begin() as conn:
        subscribers.add(conn, SLOW, now=utcnow(), profile=Profile(("robots",)))
    server.script.rules.append(Rule("rcpt", "451 4.7.1 Greylisted", match=SLOW, times=1))
    signer = signer_for(settings)
    assert (await pipeline.run_daily(sqlite_store, settings, signer, date=THURSDAY)).outcome == (
        "incomplete"
    )
    server.script.rules.append(Rule("body", "554 5.7.1 Message rejected as spam", match=SLOW))
    two_hours_later = utcnow() + dt.timedelta(hours=2)  # the retry (after 1 h) is due
    friday = await pipeline.run_daily(
        sqlite_store,
        settings,
        signer,
        date=THURSDAY + dt.timedelta(days=1),
        clock=lambda: two_hours_later,
    )
    assert friday.outcome == "failed"  # nothing went out this run, and a message failed
    assert friday.reason == "edition 2026-11-26: 1 message failed permanently"
    assert "earlier edition 2026-11-26: 0 sent now (1 failed)" in friday.stages
