"""The one orchestration: collect -> freeze -> rank -> render -> send.

``run_daily`` is what ``newsletter run`` (and ``newsletter demo``) call. It takes
its settings, store, clock and signer from the caller; nothing here reads the
environment. An edition that is not complete yet (``edition_day``) is refused before
anything happens; a dry run (``dryrun``) writes nothing but its folder.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from newsletter import schedule
from newsletter.config import Settings
from newsletter.deliver import open_transport
from newsletter.errors import InputError, NewsletterError
from newsletter.links import Links
from newsletter.models import Edition
from newsletter.outbox.send import SendReport, send_edition
from newsletter.pipeline import catchup
from newsletter.pipeline.batches import (
    make_personalizer,
    publish_web_version,
    recipients,
    start_embedding,
    topics_of,
)
from newsletter.pipeline.dryrun import dry_run as render_dry_run
from newsletter.pipeline.freeze import collect_fresh, freeze_collected, record_health
from newsletter.pipeline.progress import PlainProgress, Progress, ProgressTransport
from newsletter.pipeline.readiness import missing_lines
from newsletter.render import Renderer
from newsletter.store import editions, ledger, locks, runs
from newsletter.store.db import Store
from newsletter.text import local_time
from newsletter.tokens import Signer
from newsletter.words import plural

__all__ = ["RunReport", "make_personalizer", "run_daily"]
log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
RUN_LOCK = "run"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class RunReport:
    """What a run did, stage by stage.

    ``outcome``: ok | nothing (no digest due, or nothing new announced) | holiday (arXiv
    announced nothing) | waiting (a source not ready, nothing frozen) | partial (the digest
    went out without a source, some messages failed permanently, or sending stopped after
    some went out) | failed | dry-run | incomplete (messages still deferred).
    ``missing``: "source: error" of the sources this run froze the edition without.
    ``stopped``: why sending stopped early, if it did. ``folder``: where a dry run wrote
    the emails.
    """

    date: dt.date
    outcome: str = "ok"
    reason: str = ""
    stages: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    edition_id: int | None = None
    sent: SendReport | None = None
    missing: tuple[str, ...] = ()
    folder: Path | None = None
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
    """Reuse the frozen edition of ``date``, or collect and freeze it when the verdict
    (``readiness.judge``) says so. None: nothing to send now (``report`` says why)."""
    with store.begin() as conn:
        frozen = editions.get_by_date(conn, date)
    if frozen is not None:
        _stage(
            report,
            progress,
            f"edition {date}: {plural(len(frozen.papers), 'paper')}, already frozen",
        )
        return frozen
    started = time.monotonic()
    progress.start("collect")
    collected = await collect_fresh(store, settings, date, now, transport)
    record_health(store, collected, now)
    _stage(report, progress, collected.summary(), started)
    verdict = collected.verdict
    for note in (verdict.note, *(n for r in collected.result.reports for n in r.notes)):
        if note:
            _stage(report, progress, note)
    if verdict.action != "freeze":
        report.outcome = {"wait": "waiting", "fail": "failed"}.get(verdict.action, verdict.action)
        report.reason = verdict.reason
        return None
    if verdict.missing:
        report.outcome = "partial"
        report.reason = verdict.reason
        report.missing = missing_lines(verdict.missing)
        log.warning("edition %s: %s", date, verdict.reason)
    return freeze_collected(store, collected, now)


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
    out: Path | None = None,
) -> RunReport:
    """The daily job. Safe to run twice: the edition is reused and the ledger never re-sends.

    Raises ``InputError`` for an edition that cannot be made yet (``schedule.refusal``).
    ``dry_run``: render into ``out`` and change nothing else (see ``newsletter.pipeline.dryrun``).
    """
    refused = schedule.refusal(date, clock(), settings)
    if refused is not None:
        raise InputError("--date", date, refused)
    report = RunReport(date=date)
    progress = progress or PlainProgress()
    if dry_run:
        return await _dry_run(
            store, settings, signer, report, clock, only, progress, http_transport, out
        )
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
                    store, settings, signer, report, clock, only, progress, http_transport, worker
                )
        if not only:
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
    only: str | None,
    progress: Progress,
    http_transport: httpx.AsyncBaseTransport | None,
    worker: str,
) -> None:
    date = report.date
    await _process_inbox(store, settings, signer, clock, report, progress)
    edition = await collect_edition(
        store, settings, date, clock(), report, progress, http_transport
    )
    if edition is None:
        return
    report.edition_id = edition.id
    # The edition's passages are embedded in a background thread (when not stored) while
    # this one compiles the digest's templates, writes the archive page and queues the
    # readers (about 1 s at 20,000 on a quiet machine); make_personalizer waits for them.
    # A run that fails while embedding leaves its queue to the next run, as a run stopped
    # while sending does.
    embeddings = start_embedding(store, edition, clock())
    renderer = Renderer(settings, Links.for_settings(settings, signer), notices=False)
    publish_web_version(settings, renderer, edition)
    ids = recipients(store, settings, date, only)
    mine = topics_of(store, ids) if only else None
    started = time.monotonic()
    with store.begin() as conn:
        added = ledger.enqueue(conn, edition.id, ids, clock())
    _stage(report, progress, f"queue: {plural(len(ids), 'recipient')} ({added} new)", started)
    personalize = make_personalizer(
        store, settings, edition, clock(), renderer, topics=mine, embeddings=embeddings
    )
    started = time.monotonic()
    progress.start("send", total=len(ids))
    async with open_transport(settings) as transport:
        sent = await send_edition(
            store,
            settings,
            edition,
            personalize,
            ProgressTransport(transport, progress),
            worker=worker,
            clock=clock,
            only=ids if only else None,
        )
    report.sent = sent
    report.counts = dict(sent.counts)
    states = ", ".join(f"{n} {state}" for state, n in sent.counts.items() if n)
    _stage(report, progress, f"send: {sent.sent_now} sent now ({states or 'none'})", started)
    # The edition's failed rows (this run's, or an earlier run's on a re-run); --only: its own.
    failed = sent.failed_now if only else sent.counts.get("failed", 0)
    if sent.stopped or failed:
        went_out = sent.sent_now if only else sent.counts.get("sent", 0)
        report.outcome = "partial" if went_out else "failed"
        report.stopped = sent.stopped or ""
        report.reason = (
            f"sending stopped: {sent.stopped}"
            if sent.stopped
            else f"{plural(failed, 'message')} failed permanently (see `newsletter status`)"
        )
    elif not sent.finished:
        waiting = sent.counts.get("pending", 0) + sent.counts.get("deferred", 0)
        report.outcome = "incomplete"
        when = (
            f"; next retry {local_time(sent.next_attempt_at, settings.timezone)}"
            if sent.next_attempt_at
            else ""
        )
        without = f"; {report.reason}" if report.missing else ""
        report.reason = f"{plural(waiting, 'message')} still waiting{when}: run `newsletter send --retry` later{without}"


async def _dry_run(
    store: Store,
    settings: Settings,
    signer: Signer,
    report: RunReport,
    clock: Clock,
    only: str | None,
    progress: Progress,
    transport: httpx.AsyncBaseTransport | None,
    out: Path | None,
) -> RunReport:
    """No run record, no lock, no inbox: ``dryrun.dry_run`` reads and renders, that is all."""
    try:
        done = await render_dry_run(
            store,
            settings,
            signer,
            date=report.date,
            now=clock(),
            out=out,
            only=only,
            progress=progress,
            transport=transport,
        )
    finally:
        progress.close()
    report.stages += done.lines
    report.outcome = "failed" if done.failed else "dry-run"
    report.reason = done.reason
    report.counts = {"rendered": done.rendered, "bytes": done.size}
    report.folder = done.folder
    return report


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
    # Imported only when a mailbox is configured: its parsers are about 0.2 s of imports.
    from newsletter.inbox import process_inbox

    started = time.monotonic()
    try:
        processed = await process_inbox(store, settings, now=clock(), signer=signer)
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
        _stage(
            report,
            progress,
            f"gave up on {plural(caught.given_up, 'message')} queued over {hours:g}h",
        )
    for edition, sent in caught.sent:
        states = ", ".join(f"{n} {state}" for state, n in sent.counts.items() if n)
        _stage(
            report, progress, f"earlier edition {edition.date}: {sent.sent_now} sent now ({states})"
        )
        if sent.stopped or sent.failed_now:
            if report.outcome not in ("failed", "partial"):
                quiet_day = report.outcome in ("nothing", "holiday", "waiting")
                nothing_went_out = quiet_day and not sent.sent_now
                report.outcome = "failed" if nothing_went_out else "partial"
                report.stopped = sent.stopped or ""
                report.reason = (
                    f"edition {edition.date}: sending stopped: {sent.stopped}"
                    if sent.stopped
                    else f"edition {edition.date}: {plural(sent.failed_now, 'message')} failed permanently"
                )
        elif not sent.finished and report.outcome in ("ok", "nothing", "holiday"):
            report.outcome = "incomplete"
            report.reason = f"edition {edition.date}: messages still waiting for a retry"


def _stage(report: RunReport, progress: Progress, text: str, started: float | None = None) -> None:
    line = text if started is None else f"{text} in {time.monotonic() - started:.1f}s"
    report.stages.append(line)
    progress.done(line)
