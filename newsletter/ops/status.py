"""The status snapshot: what the last runs did, the ledger, sources, subscribers.

One read-only snapshot (``gather``), a JSON-ready dict that ``newsletter status`` prints
as text for a person or as JSON for monitoring. ``problems`` lists what needs a look (last
run failed, waiting or stuck, no run for a due edition, a failing source, an edition sent
without a source, messages waiting, messages deferred for more than a day in any edition,
an edition that waited for a source and was never made, messages failed or unknown in the
last three days with their last SMTP reply, readers suppressed (bounced) in the last three
days with the reason); ``--check`` exits 2 when
there is any, so a monitor can just run the command. The schedule part says which edition
is the latest complete one and which digest comes next, on arXiv's clock (``schedule``),
with times shown in TIMEZONE.
"""

from __future__ import annotations

import datetime as dt
import shlex
import zoneinfo
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Protocol, cast

from newsletter import edition_day, schedule
from newsletter.ops import inbox_status
from newsletter.store.records import (
    EditionSummary,
    Person,
    ProblemRow,
    RunRecord,
    SourceHealth,
    Suppressed,
)
from newsletter.text import local_time
from newsletter.words import noun

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from newsletter.config import Settings
    from newsletter.models import LedgerRow
    from newsletter.status_settings import StatusSettings

# SQLAlchemy, pydantic and email-validator stay out of this module's imports: on SQLite,
# `newsletter status` reads with sqlite3 and the small settings reader (a fast start).

# A due edition with no run since it was complete, this long after: cron or the timer is off.
STALE_AFTER = dt.timedelta(hours=25)  # a daily cron fires within 24 h of any moment
PROBLEM_OUTCOMES = ("failed", "incomplete", "partial", "waiting")
# Outcomes a later send can settle: the run's edition exists and only its messages were wrong.
SETTLED_BY_SENDING = ("failed", "incomplete", "partial")
DEFERRED_TOO_LONG = dt.timedelta(days=1)
NEVER_MADE_WINDOW = dt.timedelta(days=14)  # how far back an edition never made is shown
# Failed and unknown messages, and readers suppressed, this recently are problems (a
# weekend long, so a Monday look still sees Friday's).
RECENT = dt.timedelta(days=3)
LISTED = 20  # rows of each kind listed; the counts cover them all


class StatusReads(Protocol):
    """What the snapshot reads from the database: ``newsletter.store.status_sqlite`` (SQLite,
    with ``sqlite3``) and ``newsletter.store.status_alchemy`` (any database, SQLAlchemy)."""

    def recent_runs(self, limit: int) -> list[RunRecord]: ...
    def runs_by_edition(self, since: dt.date) -> dict[dt.date, RunRecord]: ...
    def sources(self) -> list[SourceHealth]: ...
    def recent_editions(self, limit: int) -> list[EditionSummary]: ...
    def edition_by_date(self, date: dt.date) -> EditionSummary | None: ...
    def edition_by_id(self, edition_id: int) -> EditionSummary | None: ...
    def ledger_counts(self, edition_id: int) -> dict[str, int]: ...
    def oldest_deferred(self, edition_id: int) -> LedgerRow | None: ...
    def deferred_before(self, before: dt.datetime) -> tuple[int, LedgerRow | None]: ...
    def problem_rows(
        self, since: dt.datetime, *, limit: int
    ) -> tuple[list[tuple[dt.date, str, int]], list[ProblemRow]]: ...
    def suppressed_since(self, since: dt.datetime, *, limit: int = 20) -> list[Suppressed]: ...
    def subscriber_counts(self) -> dict[str, int]: ...
    def people(self, ids: Collection[int]) -> dict[int, Person]: ...
    def inbox_events(
        self, kinds: Collection[str], since: dt.datetime
    ) -> list[tuple[str, int | None, dict[str, Any], dt.datetime]]: ...


def gather(
    db: StatusReads | Connection,
    settings: Settings | StatusSettings,
    now: dt.datetime,
    *,
    run_limit: int,
    edition_limit: int,
) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-ready values (datetimes as ISO strings), read
    through ``db``: a ``StatusReads``, or a SQLAlchemy connection (read by the store)."""
    reads: StatusReads
    if hasattr(db, "recent_runs"):
        reads = cast("StatusReads", db)
    else:
        from newsletter.store.status_alchemy import AlchemyStatusReads

        reads = AlchemyStatusReads(db)
    snapshot: dict[str, Any] = {
        "now": now.isoformat(),
        "runs": [_settled(reads, _run(r)) for r in reads.recent_runs(run_limit)],
        "editions": [_edition(reads, e) for e in reads.recent_editions(edition_limit)],
        "sources": [_source(s) for s in reads.sources()],
        "subscribers": reads.subscriber_counts(),
        "deferred_over_a_day": _long_deferred(reads, now),
        "failures": _failures(reads, now),
        "suppressed": [_suppressed(s) for s in reads.suppressed_since(now - RECENT)],
        "schedule": _schedule(reads, settings, now),
        "never_made": _never_made(reads, settings, now),
    }
    snapshot["problems"] = problems(snapshot, settings, now) + inbox_status.problems(
        reads, settings, now
    )
    return snapshot


def _describe(date: dt.date, settings: Settings | StatusSettings) -> str:
    if schedule.follows_arxiv_calendar(settings):
        return edition_day.describe(date, hf=schedule.has_hf(settings))
    return f"the edition of {edition_day.short(date)}"


def _schedule(
    db: StatusReads, settings: Settings | StatusSettings, now: dt.datetime
) -> dict[str, Any]:
    """The latest complete edition and its state, and the next digest with when it is
    complete; ``line``: the decision in one sentence."""
    zone = zoneinfo.ZoneInfo(settings.timezone)
    latest = schedule.default_edition(now, settings)
    decision = schedule.should_send(latest, settings)
    frozen = db.edition_by_date(latest)
    if frozen is not None:
        counts = db.ledger_counts(frozen.id)
        waiting = counts.get("pending", 0) + counts.get("deferred", 0)
        state = f"frozen, {counts.get('sent', 0)} sent" + (
            f", {waiting} waiting" if waiting else ""
        )
    else:
        state = "not made yet" if decision.send else "no digest due"
    if decision.send and frozen is None:
        upcoming = latest
    else:
        upcoming = schedule.next_send_date(latest, settings)
    ready = schedule.complete_at(upcoming, settings)
    when = f"{ready.astimezone(zone):%a %d %b %H:%M %Z}"
    line = (
        f"next digest: {_describe(upcoming, settings)},"
        f" {'complete since' if ready <= now else 'complete at'} {when}"
    )
    return {
        "policy": settings.schedule,
        "latest_complete": latest.isoformat(),
        "latest_state": state,
        "due": decision.send,
        "reason": decision.reason,
        "next": upcoming.isoformat(),
        "next_complete_at": ready.isoformat(),
        "line": line,
    }


def _never_made(
    db: StatusReads, settings: Settings | StatusSettings, now: dt.datetime
) -> list[dict[str, str]]:
    """Editions before the latest complete one whose last run waited for a source and that
    were never frozen: with a run only once a day (not the hourly cron or timer shipped in
    contrib/), the next day's run makes the next edition and this one's papers never go out."""
    latest = schedule.default_edition(now, settings)
    found = []
    for date, record in sorted(db.runs_by_edition(latest - NEVER_MADE_WINDOW).items()):
        if date < latest and record.outcome == "waiting" and not db.edition_by_date(date):
            found.append({"date": date.isoformat(), "reason": record.summary or ""})
    return found


def _long_deferred(db: StatusReads, now: dt.datetime) -> dict[str, Any]:
    """Deferred rows of any edition queued more than a day ago, and the oldest of them."""
    count, row = db.deferred_before(now - DEFERRED_TOO_LONG)
    oldest = None
    if row is not None:
        who = db.people([row.subscriber_id]).get(row.subscriber_id)
        edition = db.edition_by_id(row.edition_id)
        oldest = {
            "edition": edition.date.isoformat() if edition else None,
            "email": who.email if who else None,
            "queued_at": _iso(row.created_at),
            "last_code": row.last_code,
            "last_error": row.last_text,
        }
    return {"count": count, "oldest": oldest}


def _failures(db: StatusReads, now: dt.datetime) -> dict[str, Any]:
    """Failed and unknown messages of the last RECENT (every edition): counts by state and
    the newest LISTED rows with their last SMTP reply."""
    totals, found = db.problem_rows(now - RECENT, limit=LISTED)
    return {
        "since": (now - RECENT).isoformat(),
        "counts": [
            {"edition": date.isoformat(), "state": state, "count": count}
            for date, state, count in totals
        ],
        "messages": [
            {
                "edition": row.edition_date.isoformat(),
                "email": row.email,
                "state": row.state,
                "attempts": row.attempts,
                "at": _iso(row.updated_at),
                "last_code": row.last_code,
                "last_reply": row.last_text,
            }
            for row in found
        ],
    }


def _suppressed(reader: Suppressed) -> dict[str, Any]:
    return {
        "email": reader.email,
        "status": reader.status,
        "since": _iso(reader.since),
        "reason": reader.reason,
    }


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _run(record: RunRecord) -> dict[str, Any]:
    seconds = (
        (record.finished_at - record.started_at).total_seconds() if record.finished_at else None
    )
    return {
        "id": record.id,
        "command": record.command,
        "date": _iso(record.edition_date),
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
        "seconds": round(seconds, 1) if seconds is not None else None,
        "outcome": record.outcome or "running",
        "summary": record.summary or "",
        "counts": record.counts or {},
    }


def _settled(db: StatusReads, run: dict[str, Any]) -> dict[str, Any]:
    """``run`` with ``settled``: True when it failed, partly failed or left messages
    waiting, and its edition's ledger now holds every message sent (a later `send --retry
    --now` or `send --resend-failed` finished it) with no source missing; the run's own
    outcome stays as it was recorded."""
    run["settled"] = False
    if run["outcome"] in SETTLED_BY_SENDING and run["date"]:
        edition = db.edition_by_date(dt.date.fromisoformat(run["date"]))
        if edition is not None and not edition.missing:
            counts = db.ledger_counts(edition.id)
            open_rows = sum(n for state, n in counts.items() if state != "sent")
            run["settled"] = bool(counts.get("sent")) and not open_rows
    return run


def _edition(db: StatusReads, edition: EditionSummary) -> dict[str, Any]:
    row = db.oldest_deferred(edition.id)
    oldest = None
    if row is not None:
        who = db.people([row.subscriber_id]).get(row.subscriber_id)
        oldest = {
            "subscriber_id": row.subscriber_id,
            "email": who.email if who else None,
            "attempts": row.attempts,
            "queued_at": _iso(row.created_at),
            "next_attempt_at": _iso(row.next_attempt_at),
            "last_code": row.last_code,
            "last_error": row.last_text,
        }
    return {
        "id": edition.id,
        "date": edition.date.isoformat(),
        "papers": edition.papers,
        "sources": list(edition.sources),
        "missing": [{"source": name, "error": error} for name, error in edition.missing],
        "counts": db.ledger_counts(edition.id),
        "oldest_deferred": oldest,
    }


def _source(health: SourceHealth) -> dict[str, Any]:
    return {
        "source": health.source,
        "ok": health.ok,
        "last_attempt_at": _iso(health.last_attempt_at),
        "last_success_at": _iso(health.last_success_at),
        "last_count": health.last_count,
        "last_error": health.last_error,
    }


def problems(
    snapshot: dict[str, Any], settings: Settings | StatusSettings, now: dt.datetime
) -> list[str]:
    """One line per thing that needs a look (see the module docstring), each saying what
    to do; an empty list when all is well. ``status --check`` exits 2 on any."""
    found: list[str] = []

    def when(value: str) -> str:
        return local_time(value, settings.timezone)

    recent = snapshot["runs"]
    if not recent:
        found.append("no run recorded yet: run `newsletter run` (or wait for cron)")
    else:
        last = recent[0]
        started = dt.datetime.fromisoformat(last["started_at"])
        if last["outcome"] == "running" and now - started > dt.timedelta(
            seconds=settings.run_timeout
        ):
            found.append(f"run {last['id']} started {when(last['started_at'])} and never finished")
        elif last["outcome"] in PROBLEM_OUTCOMES and not last["settled"]:
            found.append(f"last run ({last['date']}) {last['outcome']}: {last['summary']}")
        if _missed_a_due_day(started, settings, now):
            found.append(
                f"no run since {when(last['started_at'])}: is the cron job or systemd timer active?"
            )
    for source in snapshot["sources"]:
        if not source["ok"]:
            found.append(f"source {source['source']} failing: {source['last_error']}")
    for edition in snapshot["editions"][:1]:
        waiting = edition["counts"].get("deferred", 0) + edition["counts"].get("pending", 0)
        if waiting:
            found.append(
                f"edition {edition['date']}: {waiting} {noun(waiting, 'message')} waiting to be"
                " sent; `newsletter send --retry --now` sends them now"
            )
        for missing in edition["missing"]:
            found.append(
                f"edition {edition['date']} went out without {missing['source']}:"
                f" {missing['error']}"
            )
    for skipped in snapshot["never_made"]:
        found.append(
            f"edition {skipped['date']} was never made: its last run was waiting"
            f" ({skipped['reason']}); `newsletter run --date {skipped['date']}` makes it"
        )
    found += _failure_problems(snapshot, when)
    stale = snapshot["deferred_over_a_day"]
    if stale["count"]:
        oldest = stale["oldest"]
        plural = noun(stale["count"], "message")
        found.append(
            f"{stale['count']} {plural} deferred for more than a day (oldest: edition"
            f" {oldest['edition']}, {oldest['email']}, queued {when(oldest['queued_at'])}:"
            f" {oldest['last_code'] or ''} {oldest['last_error'] or ''}); the next"
            " `newsletter run` retries them, and gives up after"
            f" GIVE_UP_AFTER_HOURS={settings.give_up_after_hours:g}h;"
            " `newsletter send --retry --now` retries them at once"
        )
    return found


def _failure_problems(snapshot: dict[str, Any], when: Callable[[str], str]) -> list[str]:
    """Failed and unknown messages per edition, each with the newest reply and the command
    that sends them again; each reader suppressed recently, with the reason and the
    command that makes them active again (the address shell-quoted)."""
    found: list[str] = []
    failures = snapshot["failures"]
    suppressed = {reader["email"] for reader in snapshot["suppressed"]}
    for group in failures["counts"]:
        date, state, count = group["edition"], group["state"], group["count"]
        same = (m for m in failures["messages"] if (m["edition"], m["state"]) == (date, state))
        newest = next(same, None)
        last = ""
        if newest is not None:
            reply = f"{newest['last_code'] or ''} {newest['last_reply'] or ''}".strip()
            last = f" (last: {newest['email']}: {reply or 'no reply'})"
        flag = " --include-unknown" if state == "unknown" else ""
        what = "failed" if state == "failed" else "unknown (may have been delivered)"
        # --resend-failed leaves suppressed readers out: say so where it concerns this group.
        first = (
            " (reactivate the suppressed readers below first)"
            if any(
                m["email"] in suppressed
                for m in failures["messages"]
                if (m["edition"], m["state"]) == (date, state)
            )
            else ""
        )
        found.append(
            f"edition {date}: {count} {noun(count, 'message')} {what}{last}; after a fix{first},"
            f" `newsletter send --resend-failed --date {date}{flag}` sends them again"
        )
    for reader in snapshot["suppressed"]:
        found.append(
            f"reader {reader['email']} {reader['status']} since {when(reader['since'])}:"
            f" {reader['reason']}; once their mailbox works again,"
            f" `newsletter subscribers reactivate {shlex.quote(reader['email'])}`"
        )
    return found


def _missed_a_due_day(
    last_start: dt.datetime, settings: Settings | StatusSettings, now: dt.datetime
) -> bool:
    """A digest was due for an edition complete after the last run started, more than
    STALE_AFTER ago (whatever hour cron fires, its run should be over by then)."""
    day = schedule.default_edition(now, settings)
    for _ in range(14):
        ready = schedule.complete_at(day, settings)
        if ready <= last_start:
            return False
        if now - ready > STALE_AFTER and schedule.should_send(day, settings).send:
            return True
        day -= dt.timedelta(days=1)
        while not schedule.is_announcement_day(day, settings):
            day -= dt.timedelta(days=1)
    return False
