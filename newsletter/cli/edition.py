"""``newsletter edition recollect DATE``: throw a frozen edition away and collect it again."""

from __future__ import annotations

import asyncio
import datetime as dt

import click

from newsletter import schedule
from newsletter.cli.base import Context, handle_errors, iso_date, main, pass_context, utc_now
from newsletter.cli.send import SEND_LOCK
from newsletter.errors import InputError
from newsletter.pipeline import RUN_LOCK, freeze
from newsletter.store import locks, runs
from newsletter.words import plural

EXIT_WAITING = 3


@main.group("edition")
def edition_group() -> None:
    """Frozen editions: collect one again."""


@edition_group.command("recollect")
@click.argument("date", metavar="DATE", callback=iso_date)
@pass_context
@handle_errors
def recollect_command(ctx: Context, date: dt.date) -> None:
    """Drop the frozen edition of DATE and collect it again, while none of its
    messages has gone out (no message sent, in flight or of unknown fate).

    The new collection replaces the old edition only when a run would freeze it
    now (MISSING_SOURCE_POLICY); otherwise the old one stays and the command exits
    3. Then `newsletter run --date DATE` sends the new edition.
    """
    ctx.require_settings()
    settings = ctx.settings
    refused = schedule.refusal(date, utc_now(), settings)
    if refused is not None:
        raise InputError("DATE", date, refused)
    store = ctx.open_existing_store()
    holder = locks.holder_id("recollect")
    try:
        with store.begin() as conn:
            run_id = runs.start(conn, "recollect", date, utc_now())
        outcome, summary = "failed", ""
        try:
            with (
                locks.hold(store, RUN_LOCK, holder, utc_now(), settings.lock_ttl),
                locks.hold(store, SEND_LOCK, holder, utc_now(), settings.lock_ttl),
            ):
                done = asyncio.run(freeze.recollect(store, settings, date, utc_now()))
            old = done.dropped
            click.echo(done.collected.summary(), err=True)
            if done.edition is None:
                outcome, summary = (
                    "waiting",
                    f"edition {date} kept: {done.collected.verdict.reason}",
                )
            else:
                without = ", ".join(name for name, _ in done.edition.missing)
                outcome = "partial" if without else "ok"
                summary = (
                    f"edition {date}: {plural(len(old.papers), 'paper')} replaced by"
                    f" {len(done.edition.papers)}"
                    + (f" (without {without})" if without else "")
                    + f"; `newsletter run --date {date}` sends it"
                )
        except InputError as exc:
            outcome, summary = "refused", str(exc)
            raise
        except Exception as exc:
            summary = str(exc)
            raise
        finally:
            with store.begin() as conn:
                runs.finish(
                    conn, run_id, outcome=outcome, summary=summary, counts=None, now=utc_now()
                )
    finally:
        store.close()
    click.echo(summary)
    if outcome == "waiting":
        raise SystemExit(EXIT_WAITING)
