"""``newsletter send``: send (or retry) what the ledger says is pending or due.

Without ``--worker`` one sender runs at a time (database lock ``send``); with
``--worker`` several processes, on several machines sharing one PostgreSQL
database, claim batches side by side and never the same row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import click

from newsletter.cli.base import (
    Context,
    fail,
    handle_errors,
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
from newsletter.store import editions, ledger, locks
from newsletter.store.db import Store

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
    renderer = Renderer(settings, Links.for_settings(settings, make_signer(settings)))
    async with open_transport(settings) as transport:
        for edition in chosen:
            personalize = make_personalizer(store, settings, edition, utc_now(), renderer)
            reports.append(
                await send_edition(
                    store, settings, edition, personalize, transport, worker=worker, clock=utc_now
                )
            )
    return reports


@main.command("send")
@click.option("--date", type=click.DateTime(["%Y-%m-%d"]), help="The edition of this date.")
@click.option("--retry", is_flag=True, help="Every edition with pending or due rows.")
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
    ctx: Context, date: dt.datetime | None, retry: bool, worker_name: str | None
) -> None:
    """Send what is pending, and deferred rows now due; never a row already sent.

    Exit status: 0 done, 1 nothing could be sent (sending stopped, or every message
    tried failed), 3 messages still waiting (pending or deferred), 4 partly failed.
    """
    settings = ctx.settings
    store = open_store(settings)
    worker = locks.holder_id(worker_name or "send")
    try:
        with _exclusive(store, settings, worker, shared=worker_name is not None):
            include_unknown = settings.unknown_policy == "resend"
            chosen = _editions(store, date.date() if date else None, retry, include_unknown)
            if not chosen:
                click.echo("nothing to send")
                return
            reports = asyncio.run(send_all(store, settings, chosen, worker))
    finally:
        store.close()
    for report in reports:
        click.echo(report.summary())
    exit_for(reports)


def exit_for(reports: list[SendReport]) -> None:
    """The agreed exit statuses for what the sends did (return means 0)."""
    stopped = next((r.stopped for r in reports if r.stopped), None)
    failed = sum(r.failed_now for r in reports)
    if stopped or failed:
        reason = f"sending stopped: {stopped}" if stopped else f"{failed} messages failed"
        if not any(r.sent_now for r in reports):
            fail(reason)
        click.echo(f"partly failed: {reason}")
        raise SystemExit(4)
    # Rows another worker is sending are not waiting for a later run; pending and deferred are.
    if any(r.counts.get("pending", 0) + r.counts.get("deferred", 0) for r in reports):
        raise SystemExit(3)
