"""``newsletter status`` on SQLite reads with ``sqlite3`` and its settings without pydantic
(a fast start); the old path (SQLAlchemy through the store, ``Settings``) still serves
PostgreSQL and a database with a migration pending. Both must print the same bytes, text
and ``--json``, for the same database: here one with failed, unknown and deferred rows
(one deferred for days), bounced readers (a refusal, a bounce read from the mailbox), a
complaint, an unproven bounce and complaint, failing sources, an edition sent without a
source and one that waited and was never made."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import main
from newsletter.cli import status as status_cli
from newsletter.cli.status import format_text
from newsletter.config import load_settings
from newsletter.deliver import SendResult
from newsletter.models import Paper
from newsletter.ops.status import gather
from newsletter.status_settings import load_status_settings
from newsletter.store import editions, ledger, locks, runs, subscribers
from newsletter.store import inbox as inbox_events
from newsletter.store.db import Store
from newsletter.store.status_alchemy import AlchemyStatusReads
from newsletter.store.status_sqlite import SqliteStatusReads

T0 = dt.datetime(2026, 11, 23, 6, 0, 0, 123456, tzinfo=dt.UTC)  # Monday
PAPERS = [Paper(arxiv_id=f"2611.0000{i}", title=f"Paper {i}", abstract="t") for i in range(4)]
SETTINGS = (
    "NEWSLETTER_SOURCES=hf_daily,arxiv_rss:cs.LG\nNEWSLETTER_TIMEZONE=Europe/Berlin\n"
    "NEWSLETTER_FROM=Papers <papers@example.org>\nNEWSLETTER_IMAP_HOST=imap.example.org\n"
)


def fill(store: Store) -> None:
    with store.begin() as conn:
        people = [
            subscribers.add(conn, f"reader{i}@example.org", now=T0, name=f"R{i}") for i in range(8)
        ]
        subscribers.add(conn, "new@example.org", now=T0, status="pending")
        locks.take_lease(conn, "w1", 60)
        replies = [
            SendResult("sent", 250, "2.0.0 queued"),
            SendResult("deferred", 451, "4.7.1 greylisted, try later"),
            SendResult("failed", 550, "5.1.1 no such user"),
            SendResult("unknown", None, "connection lost after DATA"),
            SendResult("failed", 554, "5.7.1 refused by policy"),
            SendResult("deferred", 421, "4.3.2 busy"),
        ]
        for day, when in enumerate((T0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2))):
            date = when.date()
            missing = [("arxiv_rss:cs.LG", "HTTP 503")] if day == 1 else []
            edition = editions.freeze(
                conn, date, PAPERS[: 2 + day], sources=["hf_daily"], now=when, missing=missing
            )
            ledger.enqueue(conn, edition.id, [p.id for p in people[:6]], when)
            claimed = ledger.claim(conn, edition.id, "w1", 10, when)
            for row, result in zip(claimed, replies, strict=False):
                at = when + dt.timedelta(minutes=row.subscriber_id)
                ledger.record(
                    conn,
                    row.id,
                    result,
                    at,
                    worker="w1",
                    next_attempt_at=at + dt.timedelta(hours=1),
                )
            run_id = runs.start(conn, "run", date, when)
            outcome = ("ok", "partial", "incomplete")[day]
            runs.finish(conn, run_id, outcome=outcome, summary=f"day {day}", counts={}, now=when)
        waited = runs.start(conn, "run", dt.date(2026, 11, 20), T0 - dt.timedelta(days=3))
        runs.finish(
            conn, waited, outcome="waiting", summary="waiting for arxiv_rss", counts={}, now=T0
        )
        runs.record_sources(
            conn,
            [("hf_daily", True, 4, ""), ("arxiv_rss:cs.LG", False, 0, "HTTP 503 <b>down</b>")],
            T0,
        )
        later = T0 + dt.timedelta(days=2, hours=3)
        subscribers.set_status(conn, people[4].id, "bounced", now=later)
        subscribers.set_status(conn, people[2].id, "bounced", now=later)
        inbox_events.record(
            conn,
            "dsn-1",
            "bounce",
            subscriber_id=people[2].id,
            detail={"kind": "hard", "status": "5.1.1", "reason": "user unknown"},
            now=later,
        )
        subscribers.set_status(conn, people[6].id, "unsubscribed", now=later)
        inbox_events.record(
            conn,
            "arf-1",
            "complaint",
            subscriber_id=people[6].id,
            detail={"feedback_type": "abuse"},
            now=later,
        )
        inbox_events.record(
            conn,
            "arf-2",
            "complaint-unproven",
            subscriber_id=people[0].id,
            detail={"feedback_type": "abuse"},
            now=later,
        )
        inbox_events.record(
            conn,
            "dsn-2",
            "bounce-unproven",
            subscriber_id=people[1].id,
            detail={"status": "5.2.2", "reason": "mailbox full"},
            now=later,
        )
        subscribers.set_status(conn, people[7].id, "paused", now=later)


@pytest.fixture
def filled(tmp_path: Path) -> tuple[Store, Path, Path]:
    db = tmp_path / "status.db"
    store = Store.open(f"sqlite:///{db}", now=T0)
    fill(store)
    env = tmp_path / "status.env"
    env.write_text(f"NEWSLETTER_DATABASE_URL=sqlite:///{db}\n{SETTINGS}")
    return store, db, env


@pytest.mark.parametrize("hours", [1, 30, 50, 52, 24 * 5, 24 * 9])
@pytest.mark.parametrize("limits", [(5, 3), (1, 0), (500, 10)])
def test_both_readers_give_the_same_snapshot_text_and_json(
    filled: tuple[Store, Path, Path], hours: int, limits: tuple[int, int]
) -> None:
    store, db, env = filled
    now = T0 + dt.timedelta(hours=hours)
    full, light = load_settings(env), load_status_settings(env)
    with store.begin() as conn:
        old = gather(
            AlchemyStatusReads(conn), full, now, run_limit=limits[0], edition_limit=limits[1]
        )
    with SqliteStatusReads.open_current(db) as reads:
        assert reads is not None
        new = gather(reads, light, now, run_limit=limits[0], edition_limit=limits[1])
    assert json.dumps(new, indent=2) == json.dumps(old, indent=2)
    assert format_text(new, light) == format_text(old, full)
    if (hours, limits) == (50, (5, 3)):  # the rows the docstring promises are all in this snapshot
        text = format_text(new, light)
        for seen in (
            "failed",
            "unknown",
            "oldest deferred",
            "FAILING",
            "complaint",
            "proved nothing",
            "bounce: 5.1.1 user unknown (hard)",
            "refused: 554 5.7.1 refused by policy",
            "was never made",
            "sent without arxiv_rss:cs.LG",
        ):
            assert seen in text, seen


@pytest.mark.parametrize(
    "options", [[], ["--json"], ["--check"], ["--runs", "1", "--editions", "1"]]
)
def test_the_cli_prints_the_same_bytes_on_both_paths(
    filled: tuple[Store, Path, Path], options: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, env = filled
    monkeypatch.setattr(status_cli, "utc_now", lambda: T0 + dt.timedelta(hours=50))
    args = ["--env-file", str(env), "status", *options]
    fast = CliRunner().invoke(main, args)

    class Never:
        @staticmethod
        def open_current(path: Path):  # type: ignore[no-untyped-def]
            from contextlib import nullcontext

            return nullcontext(None)

    monkeypatch.setattr("newsletter.store.status_sqlite.SqliteStatusReads", Never)
    old = CliRunner().invoke(main, args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (old.exit_code, old.stdout, old.stderr)
    assert fast.stdout.strip() and fast.exit_code == (2 if options == ["--check"] else 0)


def test_status_writes_nothing_to_the_database(filled: tuple[Store, Path, Path]) -> None:
    store, db, env = filled
    store.close()
    files = sorted(db.parent.iterdir())
    assert not db.with_name(db.name + "-wal").exists()
    before = db.read_bytes(), db.stat().st_mtime_ns
    result = CliRunner().invoke(main, ["--env-file", str(env), "status", "--json"])
    assert result.exit_code == 0, result.output
    assert (db.read_bytes(), db.stat().st_mtime_ns) == before
    assert sorted(db.parent.iterdir()) == files  # no -wal or -shm left behind
