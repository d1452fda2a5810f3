"""``newsletter status``: a real database filled through the store, read back as text and JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from newsletter.cli import main
from newsletter.cli.status import format_text
from newsletter.config import Settings
from newsletter.deliver import SendResult
from newsletter.models import Paper
from newsletter.ops.status import gather
from newsletter.store import editions, ledger, locks, runs, subscribers
from newsletter.store import inbox as inbox_events
from newsletter.store.db import Store

DAY = dt.date(2026, 11, 26)  # a Thursday
T0 = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
PAPERS = [Paper(arxiv_id=f"2611.0000{i}", title=f"Paper {i}", abstract="text") for i in range(3)]


def fill(store: Store) -> None:
    """One edition with 4 recipients: 2 sent, 1 deferred (451), 1 failed (550); one run."""
    with store.begin() as conn:
        people = [
            subscribers.add(conn, f"reader{i}@example.org", now=T0, name=f"R{i}") for i in range(4)
        ]
        subscribers.add(conn, "new@example.org", now=T0, status="pending")
        edition = editions.freeze(conn, DAY, PAPERS, sources=["hf_daily"], now=T0)
        ledger.enqueue(conn, edition.id, [p.id for p in people], T0)
        locks.take_lease(conn, "w1", 60)
        claimed = ledger.claim(conn, edition.id, "w1", 10, T0)
        outcomes = [
            SendResult("sent", 250, "2.0.0 queued"),
            SendResult("sent", 250, "2.0.0 queued"),
            SendResult("deferred", 451, "4.7.1 greylisted, try later"),
            SendResult("failed", 550, "5.1.1 no such user"),
        ]
        retry_at = T0 + dt.timedelta(minutes=10)
        for row, result in zip(claimed, outcomes, strict=True):
            ledger.record(conn, row.id, result, T0, worker="w1", next_attempt_at=retry_at)
        run_id = runs.start(conn, "run", DAY, T0)
        runs.record_sources(
            conn, [("hf_daily", True, 3, ""), ("arxiv_rss:cs.LG", False, 0, "HTTP 503")], T0
        )
        runs.finish(
            conn,
            run_id,
            outcome="incomplete",
            summary="1 message still waiting (deferred or pending); run again later",
            counts=ledger.counts(conn, edition.id),
            now=T0 + dt.timedelta(seconds=42),
        )


def settings_for(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url, sources="hf_daily,arxiv_rss:cs.LG")


def test_gather_reports_runs_ledger_sources_and_subscribers(
    store: Store, database_url: str
) -> None:
    fill(store)
    now = T0 + dt.timedelta(hours=1)
    with store.begin() as conn:
        snap = gather(conn, settings_for(database_url), now, run_limit=5, edition_limit=3)
    [run] = snap["runs"]
    assert (run["outcome"], run["date"], run["seconds"]) == ("incomplete", "2026-11-26", 42.0)
    [edition] = snap["editions"]
    assert edition["papers"] == 3
    assert edition["counts"] == {
        "pending": 0,
        "sending": 0,
        "sent": 2,
        "deferred": 1,
        "failed": 1,
        "unknown": 0,
    }
    oldest = edition["oldest_deferred"]
    assert oldest["email"] == "reader2@example.org"
    assert (oldest["last_code"], oldest["last_error"]) == (451, "4.7.1 greylisted, try later")
    assert oldest["next_attempt_at"] == (T0 + dt.timedelta(minutes=10)).isoformat()
    sources = {s["source"]: s for s in snap["sources"]}
    assert sources["hf_daily"]["ok"] and sources["hf_daily"]["last_count"] == 3
    assert sources["arxiv_rss:cs.LG"]["last_success_at"] is None
    assert snap["subscribers"]["active"] == 4
    assert snap["subscribers"]["pending"] == 1
    plan = snap["schedule"]
    assert (plan["latest_complete"], plan["due"]) == ("2026-11-26", True)
    assert plan["latest_state"] == "frozen, 2 sent, 1 waiting"
    assert (plan["next"], plan["next_complete_at"]) == ("2026-11-27", "2026-11-27T05:00:00+00:00")
    assert plan["line"] == (
        "next digest: arXiv announcement of Fri 27 Nov + HF list of Thu 26 Nov UTC,"
        " complete at Fri 27 Nov 05:00 UTC"
    )
    assert snap["problems"] == [
        "last run (2026-11-26) incomplete: 1 message still waiting (deferred or pending);"
        " run again later",
        "source arxiv_rss:cs.LG failing: HTTP 503",
        "edition 2026-11-26: 1 message waiting to be sent; `newsletter send --retry --now`"
        " sends them now",
        "edition 2026-11-26: 1 message failed (last: reader3@example.org: 550 5.1.1 no such"
        " user); after a fix, `newsletter send --resend-failed --date 2026-11-26` sends them"
        " again",
    ]
    [failed] = snap["failures"]["messages"]
    assert failed == {
        "edition": "2026-11-26",
        "email": "reader3@example.org",
        "state": "failed",
        "attempts": 1,
        "at": T0.isoformat(),
        "last_code": 550,
        "last_reply": "5.1.1 no such user",
    }
    assert snap["failures"]["counts"] == [{"edition": "2026-11-26", "state": "failed", "count": 1}]
    assert snap["suppressed"] == []
    # Two days later with no run since: the timer or cron job is suspect.
    with store.begin() as conn:
        later = gather(
            conn,
            settings_for(database_url),
            now + dt.timedelta(days=2),
            run_limit=5,
            edition_limit=3,
        )
    assert any("is the cron job or systemd timer active?" in p for p in later["problems"])


def test_text_output(sqlite_store: Store) -> None:
    fill(sqlite_store)
    url = str(sqlite_store.engine.url)
    with sqlite_store.begin() as conn:
        snap = gather(
            conn, settings_for(url), T0 + dt.timedelta(hours=1), run_limit=5, edition_limit=3
        )
    assert format_text(snap, settings_for(url)).splitlines() == [
        "Runs (last 1)",
        "  2026-11-26 06:00 UTC  run 2026-11-26  incomplete   42.0s  1 message still waiting"
        " (deferred or pending); run again later",
        "Editions",
        "  2026-11-26  3 papers  sent 2, deferred 1, failed 1",
        "    oldest deferred: reader2@example.org, 1 attempt, next 2026-11-26 06:10 UTC:"
        " 451 4.7.1 greylisted, try later",
        "Sources",
        "  arxiv_rss:cs.LG              FAILING  last success never; error: HTTP 503",
        "  hf_daily                     ok       last success 2026-11-26 06:00 UTC (3 papers)",
        "Failed and unknown messages (since 2026-11-23 07:00 UTC)",
        "  2026-11-26  reader3@example.org  failed, 1 attempt, 2026-11-26 06:00 UTC:"
        " 550 5.1.1 no such user",
        "Readers suppressed (since 2026-11-23 07:00 UTC)",
        "  none",
        "Subscribers",
        "  pending 1, active 4, paused 0, unsubscribed 0, bounced 0",
        "Schedule",
        "  latest complete: edition 2026-11-26, frozen, 2 sent, 1 waiting",
        "  next digest: arXiv announcement of Fri 27 Nov + HF list of Thu 26 Nov UTC,"
        " complete at Fri 27 Nov 05:00 UTC",
        "Problems",
        "  last run (2026-11-26) incomplete: 1 message still waiting (deferred or pending);"
        " run again later",
        "  source arxiv_rss:cs.LG failing: HTTP 503",
        "  edition 2026-11-26: 1 message waiting to be sent; `newsletter send --retry --now`"
        " sends them now",
        "  edition 2026-11-26: 1 message failed (last: reader3@example.org: 550 5.1.1 no such"
        " user); after a fix, `newsletter send --resend-failed --date 2026-11-26` sends them"
        " again",
    ]


def test_cli_json_and_check_exit_status(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    store = Store.open(url, now=T0)
    fill(store)
    store.close()
    env = {"NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_SOURCES": "hf_daily"}
    result = CliRunner().invoke(main, ["status", "--json", "--runs", "1"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [r["outcome"] for r in data["runs"]] == ["incomplete"]
    assert data["editions"][0]["counts"]["sent"] == 2
    checked = CliRunner().invoke(main, ["status", "--check"], env=env)
    assert checked.exit_code == 2
    assert "Problems\n  last run (2026-11-26) incomplete" in checked.output


def test_cli_without_a_database_creates_none(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["status"], env={"NEWSLETTER_DATABASE_URL": "sqlite:///x.db"})
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: no database at {tmp_path / 'x.db'} (nothing created): nothing has run here"
        " yet; run from the install folder, or set NEWSLETTER_DATABASE_URL\n"
    )
    assert not (tmp_path / "x.db").exists()


def test_cli_on_an_empty_database_says_what_to_do() -> None:
    Store.open("sqlite:///x.db", now=T0).close()
    result = CliRunner().invoke(main, ["status"], env={"NEWSLETTER_DATABASE_URL": "sqlite:///x.db"})
    assert result.exit_code == 0, result.output
    assert "Runs (last 0)\n  none yet\n" in result.output
    assert "no run recorded yet: run `newsletter run` (or wait for cron)" in result.output


def test_a_weekend_without_runs_is_not_a_problem(sqlite_store: Store) -> None:
    """The last run on Friday; nothing was due at the weekend; Monday's run was missed."""
    friday = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)
    assert friday.weekday() == 4
    with sqlite_store.begin() as conn:
        run_id = runs.start(conn, "run", friday.date(), friday)
        runs.finish(conn, run_id, outcome="ok", summary="done", counts={}, now=friday)
    config = settings_for(str(sqlite_store.engine.url))
    stale = "is the cron job or systemd timer active?"
    for hours, expected in [(50, False), (74, False), (100, True)]:
        with sqlite_store.begin() as conn:
            now = friday + dt.timedelta(hours=hours)
            snap = gather(conn, config, now, run_limit=1, edition_limit=1)
        assert any(stale in p for p in snap["problems"]) is expected, (now, snap["problems"])


def test_an_edition_that_waited_and_was_never_made_is_a_problem(sqlite_store: Store) -> None:
    """A once-a-day cron (not the shipped hourly one): Tuesday's run waited for a source,
    Wednesday's made Wednesday's edition; Tuesday's papers never went out. Status says so
    until Tuesday's edition exists."""
    tuesday, wednesday = dt.date(2026, 12, 1), dt.date(2026, 12, 2)
    waited = dt.datetime(2026, 12, 1, 7, 15, tzinfo=dt.UTC)
    now = dt.datetime(2026, 12, 2, 7, 20, tzinfo=dt.UTC)
    reason = "waiting for hf_daily (source hf_daily: HTTP 503 after 1 attempt); nothing frozen"
    with sqlite_store.begin() as conn:
        run_id = runs.start(conn, "run", tuesday, waited)
        runs.finish(conn, run_id, outcome="waiting", summary=reason, counts={}, now=waited)
        editions.freeze(conn, wednesday, PAPERS, sources=["hf_daily"], now=now)
        run_id = runs.start(conn, "run", wednesday, now)
        runs.finish(conn, run_id, outcome="ok", summary="done", counts={}, now=now)
    config = settings_for(str(sqlite_store.engine.url))
    with sqlite_store.begin() as conn:
        snap = gather(conn, config, now, run_limit=5, edition_limit=3)
    assert (
        "edition 2026-12-01 was never made: its last run was waiting (" + reason + ");"
        " `newsletter run --date 2026-12-01` makes it"
    ) in snap["problems"]

    with sqlite_store.begin() as conn:
        editions.freeze(conn, tuesday, PAPERS, sources=["hf_daily"], now=now)
        snap = gather(conn, config, now, run_limit=5, edition_limit=3)
    assert not any("never made" in p for p in snap["problems"]), snap["problems"]


def test_the_edition_still_waiting_is_not_called_never_made(sqlite_store: Store) -> None:
    tuesday = dt.date(2026, 12, 1)
    waited = dt.datetime(2026, 12, 1, 7, 15, tzinfo=dt.UTC)
    with sqlite_store.begin() as conn:
        run_id = runs.start(conn, "run", tuesday, waited)
        runs.finish(conn, run_id, outcome="waiting", summary="waiting", counts={}, now=waited)
    config = settings_for(str(sqlite_store.engine.url))
    with sqlite_store.begin() as conn:
        snap = gather(conn, config, waited + dt.timedelta(hours=1), run_limit=5, edition_limit=3)
    assert not any("never made" in p for p in snap["problems"]), snap["problems"]


def test_a_failed_message_and_a_bounced_reader_after_an_ok_run_are_problems(
    store: Store, database_url: str
) -> None:
    """Issue 14: the last run was fine, yet a message failed and a reader bounced (the
    reply mailbox read a delivery report): ``--check`` must see both, with the reasons."""
    with store.begin() as conn:
        ada, bob = (subscribers.add(conn, f"{n}@example.org", now=T0) for n in ("ada", "bob"))
        edition = editions.freeze(conn, DAY, PAPERS, sources=["hf_daily"], now=T0)
        ledger.enqueue(conn, edition.id, [ada.id, bob.id], T0)
        locks.take_lease(conn, "w1", 60)
        first, second = ledger.claim(conn, edition.id, "w1", 10, T0)
        ledger.record(conn, first.id, SendResult("sent", 250, "2.0.0 ok"), T0, worker="w1")
        refused = SendResult("failed", 554, "5.7.1 message refused by policy")
        ledger.record(conn, second.id, refused, T0, worker="w1")
        subscribers.set_status(conn, ada.id, "bounced", now=T0)
        inbox_events.record(
            conn,
            "dsn-1",
            "bounce",
            subscriber_id=ada.id,
            detail={"kind": "hard", "status": "5.1.1", "reason": "user unknown"},
            now=T0 + dt.timedelta(minutes=5),
        )
        run_id = runs.start(conn, "run", DAY, T0)
        runs.finish(conn, run_id, outcome="ok", summary="", counts={}, now=T0)
    settings = Settings(
        _env_file=None, database_url=database_url, sources="hf_daily", timezone="Europe/Paris"
    )
    with store.begin() as conn:
        snap = gather(conn, settings, T0 + dt.timedelta(hours=1), run_limit=5, edition_limit=3)
    assert snap["suppressed"] == [
        {
            "email": "ada@example.org",
            "status": "bounced",
            "since": T0.isoformat(),
            "reason": "bounce: 5.1.1 user unknown (hard)",
        }
    ]
    assert snap["problems"] == [
        "edition 2026-11-26: 1 message failed (last: bob@example.org: 554 5.7.1 message"
        " refused by policy); after a fix, `newsletter send --resend-failed --date"
        " 2026-11-26` sends them again",
        # In TIMEZONE, as the rest of status (before: raw ISO UTC).
        "reader ada@example.org bounced since 2026-11-26 07:00 CET: bounce: 5.1.1 user unknown"
        " (hard); once their mailbox works again, `newsletter subscribers reactivate"
        " ada@example.org`",
    ]
    # Three days on, both are history, not problems.
    with store.begin() as conn:
        later = gather(conn, settings, T0 + dt.timedelta(days=4), run_limit=5, edition_limit=3)
    assert later["failures"]["messages"] == [] and later["suppressed"] == []


def test_the_resend_advice_says_reactivate_first_when_a_failed_reader_is_suppressed() -> None:
    """An outside re-test: with every failed reader bounced, the edition's line advised only
    ``--resend-failed``, which leaves suppressed readers out and so sent nothing."""
    from newsletter.ops.status import _failure_problems

    def snapshot(suppressed: list[str]) -> dict[str, object]:
        return {
            "failures": {
                "counts": [{"edition": "2026-11-26", "state": "failed", "count": 1}],
                "messages": [
                    {"edition": "2026-11-26", "state": "failed", "email": "ada@example.org",
                     "last_code": 550, "last_reply": "5.1.1 user unknown"},
                ],
            },
            "suppressed": [
                {"email": e, "status": "bounced", "since": "x", "reason": "bounce"}
                for e in suppressed
            ],
        }  # fmt: skip

    [alone] = _failure_problems(snapshot([]), str)
    assert "after a fix, `newsletter send --resend-failed --date 2026-11-26`" in alone
    edition, reader = _failure_problems(snapshot(["ada@example.org"]), str)
    assert edition.endswith(
        "after a fix (reactivate the suppressed readers below first),"
        " `newsletter send --resend-failed --date 2026-11-26` sends them again"
    )
    assert "`newsletter subscribers reactivate ada@example.org`" in reader
