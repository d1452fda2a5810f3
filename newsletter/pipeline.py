"""The one orchestration: collect -> freeze -> rank -> render -> send.

``run_daily`` is what ``newsletter run`` (and ``newsletter demo``) call. It takes
its settings, store, clock and signer from the caller; nothing here reads the
environment.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from newsletter import catchup, schedule
from newsletter.collect import collect
from newsletter.compose import Compose, make_composer, publish_web_version
from newsletter.config import Settings
from newsletter.deliver import open_transport
from newsletter.errors import NewsletterError
from newsletter.links import Links
from newsletter.models import Edition
from newsletter.progress import PlainProgress, Progress, ProgressTransport
from newsletter.render import Renderer
from newsletter.send import SendReport, send_edition
from newsletter.sources.http import client as http_client
from newsletter.store import editions, ledger, locks, runs, subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer

__all__ = ["RunReport", "make_composer", "run_daily"]
log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
RUN_LOCK = "run"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class RunReport:
    """What a run did, stage by stage.

    ``outcome``: ok | nothing (no digest due or nothing announced) | failed | dry-run |
    incomplete (messages still deferred) | partial (some messages failed permanently, or
    sending stopped after some went out). ``stopped``: why sending stopped early, if it did.
    """

    date: dt.date
    outcome: str = "ok"
    reason: str = ""
    stages: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    edition_id: int | None = None
    sent: SendReport | None = None
    stopped: str = ""


async def collect_edition(
    store: Store,
    settings: Settings,
    date: dt.date,
    now: dt.datetime,
    report: RunReport,
    progress: Progress,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Edition | None:
    """Reuse the frozen edition of ``date``, or collect and freeze it. None: nothing to send."""
    with store.begin() as conn:
        frozen = editions.get_by_date(conn, date)
    if frozen is not None:
        _stage(report, progress, f"edition {date}: {len(frozen.papers)} papers, already frozen")
        return frozen
    started = time.monotonic()
    progress.start("collect")
    async with http_client(settings, transport=transport) as client:
        result = await collect(settings, client, date)
    with store.begin() as conn:
        runs.record_sources(conn, [(r.name, r.ok, r.count, r.error) for r in result.reports], now)
        seen = editions.seen_before(conn, [p.arxiv_id for p in result.papers], date)
    fresh = tuple(p for p in result.papers if p.arxiv_id not in seen)
    summary = ", ".join(
        f"{r.name} {r.count}" if r.ok else f"{r.name} FAILED" for r in result.reports
    )
    repeat = f"; {len(result.papers) - len(fresh)} already sent in earlier editions" if seen else ""
    _stage(report, progress, f"collect: {len(fresh)} papers ({summary}){repeat}", started)
    for failed in result.failed:
        log.warning("source %s failed: %s", failed.name, failed.error)
    if result.all_failed:
        report.outcome = "failed"
        report.reason = "every source failed: " + "; ".join(
            f"{r.name}: {r.error}" for r in result.reports
        )
        return None
    if not fresh:
        report.outcome = "nothing"
        report.reason = f"no new papers announced for {date}; no digest sent"
        return None
    with store.begin() as conn:
        return editions.freeze(
            conn, date, fresh, sources=[r.name for r in result.reports if r.ok], now=now
        )


async def run_daily(
    store: Store,
    settings: Settings,
    signer: Signer,
    *,
    date: dt.date,
    clock: Clock = utc_now,
    dry_run: bool = False,
    only: str | None = None,
    progress: Progress | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> RunReport:
    """The daily job. Safe to run twice: the edition is reused and the ledger never re-sends."""
    report = RunReport(date=date)
    progress = progress or PlainProgress()
    with store.begin() as conn:
        run_id = runs.start(conn, "run", date, clock())
    decision = schedule.should_send(date, settings)
    try:
        worker = locks.holder_id("run")
        if not decision.send and not only:
            report.outcome = "nothing"
            report.reason = decision.reason
        else:
            with locks.hold(store, RUN_LOCK, worker, clock(), settings.lock_ttl):
                await _run_locked(
                    store,
                    settings,
                    signer,
                    report,
                    clock,
                    dry_run,
                    only,
                    progress,
                    http_transport,
                    worker,
                )
        if not dry_run and not only:
            with locks.hold(store, RUN_LOCK, worker, clock(), settings.lock_ttl):
                caught = await catchup.send_earlier_editions(
                    store, settings, signer, exclude=report.edition_id, clock=clock, worker=worker
                )
            _judge_catch_up(report, caught, settings, progress)
    except BaseException as exc:
        report.outcome = "failed"
        report.reason = report.reason or str(exc) or type(exc).__name__
        raise
    finally:
        progress.close()
        with store.begin() as conn:
            runs.finish(
                conn,
                run_id,
                outcome=report.outcome,
                summary=report.reason or (report.stages[-1] if report.stages else ""),
                counts=report.counts,
                now=clock(),
            )
    return report


async def _run_locked(
    store: Store,
    settings: Settings,
    signer: Signer,
    report: RunReport,
    clock: Clock,
    dry_run: bool,
    only: str | None,
    progress: Progress,
    http_transport: httpx.AsyncBaseTransport | None,
    worker: str,
) -> None:
    date = report.date
    if not dry_run:
        await _process_inbox(store, settings, signer, clock, report, progress)
    edition = await collect_edition(
        store, settings, date, clock(), report, progress, http_transport
    )
    if edition is None:
        return
    report.edition_id = edition.id
    renderer = Renderer(settings, Links.for_settings(settings, signer))
    publish_web_version(settings, renderer, edition)
    with store.begin() as conn:
        if only:
            ids = [subscribers.require_by_email(conn, only).id]
        else:
            ids = subscribers.sendable_ids(
                conn, date, weekly_due=schedule.is_weekly_due(date, settings)
            )
    compose = make_composer(store, settings, edition, clock(), renderer)
    if dry_run:
        await _dry_run(store, report, progress, compose, ids)
        return
    started = time.monotonic()
    with store.begin() as conn:
        added = ledger.enqueue(conn, edition.id, ids, clock())
    _stage(report, progress, f"queue: {len(ids)} recipients ({added} new)", started)
    started = time.monotonic()
    progress.start("send", total=len(ids))
    async with open_transport(settings) as transport:
        sent = await send_edition(
            store,
            settings,
            edition,
            compose,
            ProgressTransport(transport, progress),
            worker=worker,
            clock=clock,
            only=ids if only else None,
        )
    report.sent = sent
    report.counts = dict(sent.counts)
    states = ", ".join(f"{n} {state}" for state, n in sent.counts.items() if n)
    _stage(report, progress, f"send: {sent.sent_now} sent now ({states or 'none'})", started)
    if sent.stopped or sent.failed_now:
        report.outcome = "partial" if sent.sent_now else "failed"
        report.stopped = sent.stopped or ""
        report.reason = (
            f"sending stopped: {sent.stopped}"
            if sent.stopped
            else f"{sent.failed_now} messages failed permanently (see `newsletter status`)"
        )
    elif not sent.finished:
        waiting = sent.counts.get("pending", 0) + sent.counts.get("deferred", 0)
        report.outcome = "incomplete"
        when = (
            f"; next retry {sent.next_attempt_at:%Y-%m-%d %H:%M} UTC"
            if sent.next_attempt_at
            else ""
        )
        report.reason = (
            f"{waiting} messages still waiting{when}: run `newsletter send --retry` later"
        )


async def _dry_run(
    store: Store,
    report: RunReport,
    progress: Progress,
    compose: Compose,
    ids: Sequence[int],
) -> None:
    started = time.monotonic()
    progress.start("render (dry run)", total=len(ids))
    rendered = size = 0
    for offset in range(0, len(ids), 200):
        with store.begin() as conn:
            found = subscribers.get_many(conn, ids[offset : offset + 200])
        for message in compose([found[i] for i in ids[offset : offset + 200] if i in found]):
            rendered += 1
            size += len(message.data)
            progress.advance()
    report.outcome = "dry-run"
    report.counts = {"rendered": rendered, "bytes": size}
    average = size / rendered / 1024 if rendered else 0
    _stage(
        report,
        progress,
        f"dry run: {rendered} emails rendered ({average:.0f} KB each), none sent",
        started,
    )


async def _process_inbox(
    store: Store,
    settings: Settings,
    signer: Signer,
    clock: Clock,
    report: RunReport,
    progress: Progress,
) -> None:
    """Replies and bounces take effect before the send, when a reply mailbox is configured.

    A mailbox that cannot be read is reported, and the digest still goes out.
    """
    if not settings.imap_host:
        return
    from newsletter.inbox import process_inbox

    started = time.monotonic()
    try:
        processed: Any = await process_inbox(store, settings, now=clock(), signer=signer)
    except NewsletterError as exc:
        log.warning("inbox not read: %s", exc)
        _stage(report, progress, f"inbox: not read ({exc})", started)
        return
    _stage(report, progress, f"inbox: {processed.summary()}", started)


def _judge_catch_up(
    report: RunReport, caught: catchup.CatchUp, settings: Settings, progress: Progress
) -> None:
    """Earlier editions' retries in the report: a stage line each, and the outcome."""
    if caught.given_up:
        hours = settings.give_up_after_hours
        _stage(report, progress, f"gave up on {caught.given_up} message(s) queued over {hours:g}h")
    for edition, sent in caught.sent:
        states = ", ".join(f"{n} {state}" for state, n in sent.counts.items() if n)
        _stage(
            report, progress, f"earlier edition {edition.date}: {sent.sent_now} sent now ({states})"
        )
        if sent.stopped or sent.failed_now:
            if report.outcome not in ("failed", "partial"):
                nothing_went_out = report.outcome == "nothing" and not sent.sent_now
                report.outcome = "failed" if nothing_went_out else "partial"
                report.stopped = sent.stopped or ""
                report.reason = (
                    f"edition {edition.date}: sending stopped: {sent.stopped}"
                    if sent.stopped
                    else f"edition {edition.date}: {sent.failed_now} messages failed permanently"
                )
        elif not sent.finished and report.outcome in ("ok", "nothing"):
            report.outcome = "incomplete"
            report.reason = f"edition {edition.date}: messages still waiting for a retry"


def _stage(report: RunReport, progress: Progress, text: str, started: float | None = None) -> None:
    line = text if started is None else f"{text} in {time.monotonic() - started:.1f}s"
    report.stages.append(line)
    progress.done(line)
