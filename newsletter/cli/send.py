"""``newsletter send``: send (or retry) what the ledger says is pending or due.

Without ``--worker`` one sender runs at a time (database lock ``send``); with
``--worker`` several processes, on several machines sharing one PostgreSQL
database, claim batches side by side and never the same row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from newsletter.cli.base import (
    Context,
    fail,
    handle_errors,
    iso_date,
    main,
    make_signer,
    open_store,
    pass_context,
    utc_now,
)
from newsletter.config import Settings
from newsletter.deliver import open_transport
from newsletter.errors import NotFoundError
from newsletter.links import Links
from newsletter.models import Edition
from newsletter.outbox.send import SendReport, send_edition
from newsletter.pipeline.batches import make_personalizer
from newsletter.render import Renderer
from newsletter.store import editions, ledger, ledger_admin, locks, subscribers
from newsletter.store.db import Store
from newsletter.text import local_time
from newsletter.words import noun, plural

log = logging.getLogger(__name__)
SEND_LOCK = "send"


def _editions(
    store: Store, date: dt.date | None, retry: bool, include_unknown: bool
) -> list[Edition]:
    with store.begin() as conn:
        if date is not None:
            found = editions.get_by_date(conn, date)
            if found is None:
                raise NotFoundError(f"edition of {date.isoformat()}")
            return [found]
        if retry:
            ids = ledger.editions_with_work(conn, utc_now(), include_unknown=include_unknown)
            return [e for e in (editions.get(conn, i) for i in ids) if e is not None]
        latest = editions.latest(conn)
    if latest is None:
        raise NotFoundError("edition (nothing collected yet: run `newsletter run` first)")
    return [latest]


@contextmanager
def _exclusive(store: Store, settings: Settings, holder: str, shared: bool) -> Iterator[None]:
    if shared:
        yield
        return
    with locks.hold(store, SEND_LOCK, holder, utc_now(), settings.lock_ttl):
        yield


async def send_all(
    store: Store, settings: Settings, chosen: list[Edition], worker: str
) -> list[SendReport]:
    """Send each chosen edition's waiting rows over one transport, as ``worker``; one
    report per edition, in order."""
    reports: list[SendReport] = []
    renderer = Renderer(
        settings, Links.for_settings(settings, make_signer(settings)), notices=False
    )
    async with open_transport(settings) as transport:
        for edition in chosen:
            personalize = make_personalizer(store, settings, edition, utc_now(), renderer)
            reports.append(
                await send_edition(
                    store, settings, edition, personalize, transport, worker=worker, clock=utc_now
                )
            )
    return reports


def prepare(
    store: Store,
    *,
    date: dt.date | None,
    now_too: bool,
    resend_failed: bool,
    email: str | None,
    include_unknown: bool,
) -> list[str]:
    """The operator's recovery before the normal send: deferred rows due now (``--now``),
    failed rows (and unknown ones with ``--include-unknown``) back to pending
    (``--resend-failed``), limited to ``date`` and ``email``; one line per change.
    ``NotFoundError`` for an edition or address that does not exist."""
    lines: list[str] = []
    with store.begin() as conn:
        edition_id = None
        if date is not None:
            found = editions.get_by_date(conn, date)
            if found is None:
                raise NotFoundError(f"edition of {date.isoformat()}")
            edition_id = found.id
        subscriber_id = None
        if email:
            reader = subscribers.get_by_email(conn, email)
            if reader is None:
                fail(f"--email: {email} is not a subscriber", 2)
            else:
                subscriber_id = reader.id
        if resend_failed:
            states = "failed or unknown" if include_unknown else "failed"
            count, left_out = ledger_admin.requeue_failed(
                conn,
                utc_now(),
                edition_id=edition_id,
                subscriber_id=subscriber_id,
                include_unknown=include_unknown,
            )
            line = f"{count} {states} {noun(count, 'message')} back to pending"
            if left_out:
                first = shlex.quote(left_out[0])
                line += (
                    f" ({plural(len(left_out), 'reader')} left out, bounced, unsubscribed or not"
                    f" confirmed: {', '.join(left_out[:5])}{' ...' if len(left_out) > 5 else ''};"
                    f" once a mailbox works again, `newsletter subscribers reactivate {first}`"
                    " and run this again)"
                )
            lines.append(line)
        if now_too:
            count = ledger_admin.make_due_now(conn, utc_now(), edition_id=edition_id)
            lines.append(f"{count} deferred {noun(count, 'message')} due now")
    return lines


@main.command("send")
@click.option("--date", metavar="YYYY-MM-DD", callback=iso_date, help="The edition of this date.")
@click.option("--retry", is_flag=True, help="Every edition with pending or due rows.")
@click.option(
    "--now",
    "now_too",
    is_flag=True,
    help="Deferred rows too, without waiting for their retry time.",
)
@click.option(
    "--resend-failed",
    is_flag=True,
    help="Return failed rows to pending (after a fix), then send them; never a sent row.",
)
@click.option("--email", metavar="EMAIL", help="With --resend-failed: only this subscriber.")
@click.option(
    "--include-unknown",
    is_flag=True,
    help="With --resend-failed: unknown rows too (the reader may get it twice).",
)
@click.option(
    "--worker",
    "worker_name",
    is_flag=False,
    flag_value="worker",
    default=None,
    help="Run as one of several workers (no exclusive lock); optional NAME for logs.",
)
@pass_context
@handle_errors
def send_command(
    ctx: Context,
    date: dt.date | None,
    retry: bool,
    now_too: bool,
    resend_failed: bool,
    email: str | None,
    include_unknown: bool,
    worker_name: str | None,
) -> None:
    """Send what is pending, and deferred rows now due; never a row already sent.

    Without --date: the latest edition; with --retry: every edition with work.
    After a fix: --now sends deferred rows without waiting for their retry time;
    --resend-failed [--email E] [--date D] returns failed rows to pending and sends
    them (unknown rows, which may have been delivered, only with --include-unknown).

    Exit status: 0 done, 1 nothing could be sent (sending stopped, or every message
    tried failed), 2 usage error, 3 messages still waiting (pending or deferred),
    4 partly failed.
    """
    ctx.require_settings()
    if email and not resend_failed:
        fail("--email goes with --resend-failed", 2)
    if include_unknown and not resend_failed:
        fail("--include-unknown goes with --resend-failed", 2)
    settings = ctx.settings
    # With -q a send that went well prints nothing (cron mails only when something is wrong).
    say = (lambda _line: None) if ctx.verbosity < 0 else click.echo
    store = open_store(settings)
    worker = locks.holder_id(worker_name or "send")
    day = date
    try:
        with _exclusive(store, settings, worker, shared=worker_name is not None):
            for line in prepare(
                store,
                date=day,
                now_too=now_too,
                resend_failed=resend_failed,
                email=email,
                include_unknown=include_unknown,
            ):
                say(line)
            resend_unknown = settings.unknown_policy == "resend"
            chosen = _editions(store, day, retry or resend_failed or now_too, resend_unknown)
            if not chosen:
                _nothing_due(store, settings, say, day)
                return
            reports = asyncio.run(send_all(store, settings, chosen, worker))
    finally:
        store.close()
    for report in reports:
        say(report.summary(settings.timezone))
    exit_for(reports)


def _nothing_due(
    store: Store, settings: Settings, say: Callable[[str], None], day: dt.date | None
) -> None:
    """Nothing to send now: say so, or (exit 3) how many deferred rows wait for their retry
    time, until when, and the command that sends them at once."""
    with store.begin() as conn:
        edition_id = None
        if day is not None:
            found = editions.get_by_date(conn, day)
            edition_id = found.id if found is not None else None
        count, first = ledger_admin.waiting_later(conn, utc_now(), edition_id=edition_id)
    if not count:
        say("nothing to send")
        return
    dated = f" --date {day.isoformat()}" if day is not None else ""
    click.echo(
        f"nothing due yet: {plural(count, 'message')} {'waits' if count == 1 else 'wait'} for"
        f" a retry time (the first {local_time(first, settings.timezone)});"
        f" `newsletter send --retry --now{dated}` sends them now"
    )
    raise SystemExit(3)


def exit_for(reports: list[SendReport]) -> None:
    """The agreed exit statuses for what the sends did (return means 0), as ``run``'s:
    an edition holding permanently failed rows (sent now or earlier) is partly failed (4),
    or failed (1) when none of its rows went out."""
    stopped = next((r.stopped for r in reports if r.stopped), None)
    failed = sum(r.counts.get("failed", 0) for r in reports)
    if stopped or failed:
        reason = (
            f"sending stopped: {stopped}"
            if stopped
            else f"{plural(failed, 'message')} failed permanently (see `newsletter status`)"
        )
        if not any(r.sent_now or r.counts.get("sent", 0) for r in reports):
            fail(reason)
        click.echo(f"partly failed: {reason}")
        raise SystemExit(4)
    # Rows another worker is sending are not waiting for a later run; pending and deferred are.
    if any(r.counts.get("pending", 0) + r.counts.get("deferred", 0) for r in reports):
        raise SystemExit(3)
