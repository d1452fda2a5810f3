"""The send loop: claim a batch from the ledger, re-check, personalize, send, record.

Every sender holds a lease (lock ``lease:<worker>``, timed by the database's clock and
renewed while it runs). Each message's body goes out only after its row was marked in a
write that required the row to be this sender's and the lease to be valid; a sender that
loses its lease or a row stops claiming (``LeaseLostError``). Rows left in ``sending`` by
a sender whose lease is gone are reaped at start: ``unknown`` when the body may have gone
out, ``pending`` otherwise. Results are
recorded in small transactions as they arrive, so a crash loses at most the
messages in flight. Short deferrals are retried within the run; the run is only
``finished`` when nothing is pending, deferred or in flight.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from newsletter.config import Settings
from newsletter.deliver import DkimSigner, Transport, open_transport
from newsletter.deliver.ratelimit import Limiter
from newsletter.errors import DeliveryError, LeaseLostError, StoreError
from newsletter.models import Edition, LedgerRow, Message
from newsletter.outbox import forked
from newsletter.outbox.ledger_port import HasSendSource, SendSession, SendSource
from newsletter.outbox.sendbatch import Batch
from newsletter.personalize import Personalize
from newsletter.text import local_time

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SendReport:
    """What one send of an edition did: ledger ``counts`` by state after it, messages
    sent and failed now, ``seconds`` taken, whether it ``finished`` (nothing left to try)
    and when the next deferred message falls due."""

    edition_id: int
    edition_date: dt.date  # what the report line names the edition by (the id is internal)
    counts: dict[str, int]
    sent_now: int
    seconds: float
    finished: bool
    next_attempt_at: dt.datetime | None = None
    reaped: int = 0
    throttle_events: int = 0
    failed_now: int = 0  # messages that failed permanently in this send
    stopped: str | None = None  # why sending stopped early (``deliver.guard``), if it did

    def summary(self, timezone: str = "UTC") -> str:
        """The report as one line for the run's output; the next retry time in ``timezone``
        (TIMEZONE)."""
        parts = ", ".join(f"{n} {state}" for state, n in self.counts.items() if n)
        status = "finished" if self.finished else "NOT finished"
        if self.stopped:
            status = f"STOPPED ({self.stopped})"
        retry = (
            f"; next retry {local_time(self.next_attempt_at, timezone)}"
            if self.next_attempt_at
            else ""
        )
        return (
            f"edition {self.edition_date}: {status}: sent {self.sent_now} now in "
            f"{self.seconds:.1f}s ({parts or 'no rows'}){retry}"
        )


def is_finished(counts: dict[str, int], settings: Settings) -> bool:
    """Whether nothing is left to send: no row pending, sending or deferred (nor unknown
    when ``UNKNOWN_POLICY=resend``)."""
    open_states = ["pending", "sending", "deferred"]
    if settings.unknown_policy == "resend":
        open_states.append("unknown")
    return all(counts.get(state, 0) == 0 for state in open_states)


def reap_orphans(source: SendSource, settings: Settings, now: dt.datetime) -> int:
    """Rows claimed by senders whose lease has expired by the database's clock, whose
    process on this host has died, or claimed longer than LOCK_TTL ago go back to safe
    states; returns how many."""
    reaped = source.reap_orphans(settings.lock_ttl, now)
    if reaped:
        log.warning("returned %d row(s) left in 'sending' by stopped senders", reaped)
    return reaped


def _prepare(
    source: SendSource,
    session: SendSession,
    edition: Edition,
    rows: list[LedgerRow],
    personalize: Personalize,
    now: dt.datetime,
    worker: str,
) -> list[tuple[LedgerRow, Message]]:
    """Re-check suppression at send time and personalize the batch; give rows back on error."""
    keep, found = session.sendable(rows, edition.date, now, worker=worker)
    try:
        messages = {m.subscriber_id: m for m in personalize([found[r.subscriber_id] for r in keep])}
    except BaseException:
        source.release([r.id for r in keep], now, worker=worker)
        raise
    pairs = [(row, messages[row.subscriber_id]) for row in keep if row.subscriber_id in messages]
    missing = [row.id for row in keep if row.subscriber_id not in messages]
    if missing:
        source.suppress(missing, "no message composed", now, worker=worker)
    return pairs


async def _renew_lease(source: SendSource, settings: Settings, worker: str) -> None:
    """Renew every third of the lease. A lease found expired (or taken) raises
    ``LeaseLostError``; a database error is retried until the lease is at risk, then
    raised. The send loop checks before each claim and stops."""
    failures = 0
    while True:
        await asyncio.sleep(settings.worker_lease / 3 if failures == 0 else 1.0)
        try:
            renewed = source.renew_lease(worker, settings.worker_lease)
        except StoreError as exc:
            failures += 1
            log.warning("could not renew the lease of %s: %s", worker, exc)
            if failures * 1.0 >= settings.worker_lease / 3:
                raise
            continue
        if not renewed:
            raise LeaseLostError(worker, settings.worker_lease)
        failures = 0


def process_count(settings: Settings) -> int:
    """How many processes send: ``SEND_PROCESSES``, but never more than ``SMTP_CONCURRENCY``
    (a total of connections: each process needs one) nor than ``SEND_RATE_PER_HOUR`` when
    set (each process needs a share of at least one message)."""
    count = min(settings.send_processes, settings.smtp_concurrency)
    if settings.send_rate_per_hour > 0:
        count = min(count, settings.send_rate_per_hour)
    return max(1, count)


def per_process(settings: Settings) -> Settings:
    """The share of one sender process (``process_count`` of them): connections and rates
    are totals for all of them, so each share is rounded down and the shares together
    never exceed a total (8 connections over 3 processes: 2 each)."""
    if settings.send_processes <= 1:
        return settings
    count = process_count(settings)
    if count <= 1:
        return settings.model_copy(update={"send_processes": 1})
    return settings.model_copy(
        update={
            "send_processes": 1,
            "smtp_concurrency": settings.smtp_concurrency // count,
            "send_rate_per_second": settings.send_rate_per_second / count,
            "send_rate_per_hour": settings.send_rate_per_hour // count,
        }
    )


async def send_edition(
    store: HasSendSource,
    settings: Settings,
    edition: Edition,
    personalize: Personalize,
    transport: Transport,
    *,
    worker: str,
    clock: Callable[[], dt.datetime],
    only: Sequence[int] | None = None,
) -> SendReport:
    """Send what is pending or due for ``edition``; ``worker`` must be unique per process.

    ``store`` gives the ledger (``ledger_port.SendSource``); ``personalize`` makes each
    claimed batch's messages; ``clock`` gives UTC now. Raises ``LeaseLostError`` when this
    sender lost its lease, ``DeliveryError`` when a helper sender failed.

    ``only``: send nothing but these subscribers' rows, in this process alone.

    With ``settings.send_processes`` > 1, that many processes send side by side (this one
    and forked helpers, see ``newsletter.outbox.forked``); the report covers them all.
    """
    # Everything built so far (templates, ranker, edition, modules) lives for the whole
    # send: keep it out of the garbage collector's scans, which otherwise revisit it
    # every few thousand allocations (and, in forked helpers, copy its pages).
    gc.freeze()
    source = store.send_source()
    try:
        if only is not None:
            return await _send_edition(
                source, settings, edition, personalize, transport, worker, clock, only=only
            )
        return await _send_all(source, settings, edition, personalize, transport, worker, clock)
    finally:
        gc.unfreeze()


async def _send_all(
    source: SendSource,
    settings: Settings,
    edition: Edition,
    personalize: Personalize,
    transport: Transport,
    worker: str,
    clock: Callable[[], dt.datetime],
) -> SendReport:
    processes = process_count(settings)
    if processes <= 1:
        return await _send_edition(source, settings, edition, personalize, transport, worker, clock)
    started = time.monotonic()
    share = per_process(settings)
    dkim_signer = DkimSigner.from_settings(settings)  # read once, before forking

    async def helper(index: int) -> forked.HelperTally:
        source.after_fork()
        name = source.helper_name(f"{worker.rpartition(':')[2] or 'send'}+{index}")
        async with open_transport(share, dkim_signer) as own:
            report = await _send_edition(source, share, edition, personalize, own, name, clock)
        return report.sent_now, report.throttle_events, report.failed_now, report.stopped or ""

    helpers = forked.start(processes - 1, helper)
    try:
        report = await _send_edition(source, share, edition, personalize, transport, worker, clock)
    except BaseException:
        forked.stop(helpers)
        raise
    results = await forked.join(helpers)
    failed = [r for r in results if r.error]
    if failed:
        raise DeliveryError(share.smtp_host, f"helper sender {failed[0].index}: {failed[0].error}")
    counts = source.counts(edition.id)
    due = source.next_due(edition.id, include_unknown=settings.unknown_policy == "resend")
    combined = SendReport(
        edition_id=edition.id,
        edition_date=edition.date,
        counts=counts,
        sent_now=report.sent_now + sum(r.sent for r in results),
        seconds=time.monotonic() - started,
        finished=is_finished(counts, settings),
        next_attempt_at=due,
        reaped=report.reaped,
        throttle_events=report.throttle_events + sum(r.throttle_events for r in results),
        failed_now=report.failed_now + sum(r.failed for r in results),
        stopped=report.stopped or next((r.stopped for r in results if r.stopped), None),
    )
    log.debug("%s (%d processes)", combined.summary(), processes)
    return combined


async def _send_edition(
    source: SendSource,
    settings: Settings,
    edition: Edition,
    personalize: Personalize,
    transport: Transport,
    worker: str,
    clock: Callable[[], dt.datetime],
    *,
    only: Sequence[int] | None = None,
) -> SendReport:
    started = time.monotonic()
    include_unknown = settings.unknown_policy == "resend"
    source.take_lease(worker, settings.worker_lease)
    now = clock()
    ages = [(now - t).total_seconds() for t in source.sent_since(now - dt.timedelta(hours=1))]
    reaped = reap_orphans(source, settings, clock())
    limiter = Limiter(
        settings.smtp_concurrency,
        settings.send_rate_per_second,
        settings.send_rate_per_hour,
        pause=min(settings.retry_base_delay, 10.0),
        sent_in_last_hour=ages,
    )
    batch = Batch(source.session(), settings, transport, limiter, worker, clock)
    renewer = asyncio.create_task(_renew_lease(source, settings, worker))
    # Once no message is left that was never tried, deferrals falling due within
    # RETRY_IN_RUN_MAX_WAIT are retried for that long and no longer (a recipient greylisted
    # on every try must not keep the run going until its give-up age).
    retry_until: dt.datetime | None = None
    try:
        while True:
            if renewer.done():
                renewer.result()  # the lease could not be renewed: stop before claiming more
            now = clock()
            retries = retry_until is None or now <= retry_until
            rows = batch.session.claim(
                edition.id,
                worker,
                settings.send_batch_size,
                now,
                give_up_hours=settings.give_up_after_hours,
                include_unknown=include_unknown,
                only=only,
                retries=retries,
                lease_seconds=settings.worker_lease,
            )
            if retry_until is None and all(r.attempts > 0 for r in rows):
                retry_until = now + dt.timedelta(seconds=settings.retry_in_run_max_wait)
            if rows:
                pairs = _prepare(source, batch.session, edition, rows, personalize, now, worker)
                await batch.run(pairs)
                if batch.lost:
                    raise LeaseLostError(worker, settings.worker_lease)
                if batch.guard.stopped:
                    # INFO: the command's outcome line says it (once, even with -q)
                    log.info("sending stopped: %s", batch.guard.stopped)
                    break
                continue
            if reap_orphans(source, settings, clock()):
                continue  # rows a stopped sender left behind: this sender takes them on
            if not retries or retry_until is None:
                break
            due = source.next_due(edition.id, include_unknown=include_unknown, only=only)
            if due is None or due > retry_until:
                break
            wait = (due - clock()).total_seconds()
            # A wait worth telling the operator about is said once per wait; the short
            # ones between retries within the run (hundreds in a run with deferrals, an
            # outside tester counted 262 "waiting 0.0s" lines) only with -vv.
            level = logging.INFO if wait >= 1 else logging.DEBUG
            log.log(level, "waiting %.1fs for deferred messages to fall due", max(wait, 0))
            await asyncio.sleep(max(wait, 0.01))
    finally:
        renewer.cancel()
        batch.close()
        source.finish(edition.id, worker, clock())
    counts = source.counts(edition.id)
    due = source.next_due(edition.id, include_unknown=include_unknown)
    report = SendReport(
        edition_id=edition.id,
        edition_date=edition.date,
        counts=counts,
        sent_now=batch.sent,
        seconds=time.monotonic() - started,
        finished=is_finished(counts, settings),
        next_attempt_at=due,
        reaped=reaped,
        throttle_events=limiter.throttle_events,
        failed_now=batch.failed,
        stopped=batch.guard.stopped,
    )
    log.debug("%s", report.summary())
    return report
