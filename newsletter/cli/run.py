"""``newsletter run``, ``newsletter preview`` and ``newsletter demo``: the daily job."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from newsletter import pipeline, schedule
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
from newsletter.cli.progress import make_progress
from newsletter.config import Settings
from newsletter.errors import (
    InputError,
    LockedError,
    NewsletterError,
    NotFoundError,
    StoreError,
)
from newsletter.links import Links
from newsletter.models import Profile, Subscriber
from newsletter.outbox import alerts
from newsletter.pipeline.batches import make_personalizer
from newsletter.render import Renderer
from newsletter.store import alerts as sent_alerts
from newsletter.store import editions, ledger_admin, subscribers
from newsletter.store.db import Store
from newsletter.words import plural

log = logging.getLogger(__name__)


@dataclass
class AlertsOnce:
    """``alerts.AlertLog`` on the database: one email per (edition, kind). A database
    that cannot answer never stops an alert (nor hides the run's own error)."""

    store: Store

    def already_sent(self, alert: alerts.Alert) -> bool:
        """Whether this (edition, kind) alert went out already; False when unknown."""
        try:
            with self.store.begin() as conn:
                return sent_alerts.already_sent(conn, alert.date, alert.kind)
        except StoreError as exc:
            log.warning("cannot tell whether this alert was sent already: %s", exc)
            return False

    def remember(self, alert: alerts.Alert) -> None:
        """Record the alert as sent; a database error is logged, never raised."""
        try:
            with self.store.begin() as conn:
                sent_alerts.remember(conn, alert.date, alert.kind, utc_now())
        except StoreError as exc:
            log.warning("cannot record the alert as sent: %s", exc)


EXIT_WAITING = 3  # a later run finishes the job (a source not ready, messages deferred)
EXIT_PARTLY_FAILED = 4  # some messages failed, sending stopped, or a source is missing


def parse_date(value: dt.date | None, settings: Settings) -> dt.date:
    """``--date`` (checked by ``iso_date``), or the latest complete edition
    (``schedule.default_edition``)."""
    return value if value is not None else schedule.default_edition(utc_now(), settings)


# Outcomes whose line ``report_run`` prints with the reason, even with -q.
SAYS_WHY = ("failed", "waiting", "incomplete", "partial")


def execute_run(
    settings: Settings,
    date: dt.date,
    *,
    dry_run: bool = False,
    only: str | None = None,
    quiet: bool = False,
    out: Path | None = None,
) -> pipeline.RunReport:
    """One ``newsletter run`` for edition ``date``: the pipeline under RUN_TIMEOUT, with
    alerts sent once per (edition, kind). The caller maps the report to an exit status."""
    store = open_store(settings)
    signer = make_signer(settings)
    progress = make_progress(sys.stderr, quiet=quiet)
    once = AlertsOnce(store)
    try:
        report = asyncio.run(
            asyncio.wait_for(
                pipeline.run_daily(
                    store,
                    settings,
                    signer,
                    date=date,
                    dry_run=dry_run,
                    only=only,
                    progress=progress,
                    out=out,
                ),
                timeout=settings.run_timeout,
            )
        )
    except (LockedError, InputError):
        raise  # another run is at work, or the date cannot be made: nothing to alert about
    except NewsletterError as exc:
        if not dry_run:  # a dry run alerts nobody and records nothing
            alert = alerts.alert_for_error(exc, date)
            asyncio.run(alerts.deliver(alert, settings, now=utc_now(), once=once, shown=str(exc)))
        store.close()
        raise
    except TimeoutError:
        error = NewsletterError(
            f"the run took longer than NEWSLETTER_RUN_TIMEOUT={settings.run_timeout:g}s and was"
            " stopped; nothing sent is lost: run again to finish"
        )
        if not dry_run:
            alert = alerts.alert_for_error(error, date)
            asyncio.run(alerts.deliver(alert, settings, now=utc_now(), once=once, shown=str(error)))
        store.close()
        raise error from None
    except BaseException:
        store.close()
        raise
    try:
        if not dry_run:
            shown = report.reason if report.outcome in SAYS_WHY else ""
            left_out: list[str] = []
            if report.edition_id is not None and report.counts.get("failed"):
                with store.begin() as conn:
                    left_out = ledger_admin.left_out(conn, report.edition_id)
            asyncio.run(
                alerts.maybe_alert(
                    report, settings, now=utc_now(), once=once, shown=shown, left_out=left_out
                )
            )
    finally:
        store.close()
    return report


def check_subscriber(settings: Settings, email: str) -> None:
    """``--only``: the address must be a subscriber, checked before the run reads the
    mailbox, collects, records a run or alerts anyone; exit 2 when it is not."""
    store = open_store(settings)
    try:
        with store.begin() as conn:
            subscribers.require_by_email(conn, email)
    except NotFoundError as exc:
        fail(f"--only: {exc}", 2)
    except InputError as exc:  # not an address at all
        fail(f"--only: {str(exc).removeprefix(exc.field + ': ')}", 2)
    finally:
        store.close()


def report_run(report: pipeline.RunReport, *, quiet: bool = False) -> None:
    """Print the outcome line and exit with the run's status (see ``run --help``).

    With ``quiet``, a run that found nothing wrong prints nothing (a digest sent included):
    cron mails only what needs a look.
    """
    date = report.date
    if report.outcome == "failed":
        fail(report.reason)
    if report.outcome in ("nothing", "holiday"):
        if not quiet:
            prefix = f"no digest for {date}: "
            click.echo(
                report.reason if report.reason.startswith(prefix) else prefix + report.reason
            )
    elif report.outcome == "waiting":
        click.echo(f"edition {date}: {report.reason}")
        raise SystemExit(EXIT_WAITING)
    elif report.outcome == "incomplete":
        click.echo(f"edition {date}: {report.reason}")
        raise SystemExit(EXIT_PARTLY_FAILED if report.missing else EXIT_WAITING)
    elif report.outcome == "dry-run":
        rendered = report.counts.get("rendered", 0)
        where = f" into {report.folder}" if report.folder else ""
        then = f"; {report.reason}" if report.reason else ""
        click.echo(
            f"dry run for {date}: {plural(rendered, 'email')} written{where}, none sent{then}"
        )
    elif report.outcome == "partial":
        if report.stopped or report.counts.get("failed"):
            click.echo(f"edition {date}: partly failed, {done_text(report)}: {report.reason}")
        else:  # every message went out, without a source
            click.echo(f"edition {date}: done, {done_text(report)}; {report.reason}")
        raise SystemExit(EXIT_PARTLY_FAILED)
    elif not quiet:
        click.echo(f"edition {date}: done, {done_text(report)}")


def done_text(report: pipeline.RunReport) -> str:
    """``2 sent now, 5 sent in total`` plus any rows that need a look."""
    now = report.sent.sent_now if report.sent else 0
    parts = [f"{now} sent now, {report.counts.get('sent', 0)} sent in total"]
    for state in ("failed", "unknown"):
        if report.counts.get(state):
            parts.append(f"{report.counts[state]} {state}")
    text = ", ".join(parts)
    return text + (" (see `newsletter status`)" if len(parts) > 1 else "")


@main.command("run")
@click.option(
    "--date",
    "date_text",
    metavar="YYYY-MM-DD",
    callback=iso_date,
    help="Edition: an arXiv announcement day (default: the latest complete edition).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Collect, rank and render in memory; write the emails to a folder; change nothing.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --dry-run: the folder for the .eml and .html files (default: a new one).",
)
@click.option("--only", metavar="EMAIL", help="Send only to this subscriber.")
@pass_context
@handle_errors
def run_command(
    ctx: Context, date_text: dt.date | None, dry_run: bool, out: Path | None, only: str | None
) -> None:
    """Run the daily job: collect, freeze the edition, rank, render, send.

    The edition is named by arXiv's announcement day; without --date it is the
    latest one whose data is complete (README: "What is in today's digest").
    Then it sends earlier editions' deferred rows that are due, and gives up
    (failed) rows older than GIVE_UP_AFTER_HOURS: a cron line needs nothing else.
    Safe to run twice: the edition is frozen on the first run and the send
    ledger never sends a message twice. Exit status: 0 done (or nothing due,
    nothing new, an arXiv holiday), 1 failed (nothing went out), 2 usage or
    settings error (an unknown --only address, no settings), 3 waiting (a source
    is not ready, or messages are deferred: a later run finishes the job), 4
    partly failed (some of the edition's messages failed permanently, sending
    stopped part-way, or the digest went out without a source).
    """
    ctx.require_settings()
    settings = ctx.settings
    if out is not None and not dry_run:
        fail("--out goes with --dry-run (a real run delivers through DELIVERY)", 2)
    date = parse_date(date_text, settings)
    refused = schedule.refusal(date, utc_now(), settings) if date_text is not None else None
    if refused is not None:  # a weekend, or a day not complete yet: a usage error
        fail(f"--date: {refused}", 2)
    if only:
        check_subscriber(settings, only)
    quiet = ctx.verbosity < 0
    report = execute_run(settings, date, dry_run=dry_run, only=only, quiet=quiet, out=out)
    report_run(report, quiet=quiet)


@main.command("preview")
@click.option("--email", help="Preview for this subscriber (default: a reader with no topics).")
@click.option(
    "--date",
    "date_text",
    metavar="YYYY-MM-DD",
    callback=iso_date,
    help="Edition date (default: latest).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML here.")
@click.option(
    "--screenshot",
    "shot_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    is_flag=False,
    flag_value="screenshots",
    help="Save 375/800 px, light/dark PNGs in this folder (default: screenshots/).",
)
@pass_context
@handle_errors
def preview_command(
    ctx: Context,
    email: str | None,
    date_text: dt.date | None,
    out: Path | None,
    shot_dir: Path | None,
) -> None:
    """Show the exact email one subscriber would get for a frozen edition.

    Reads an existing database: without one here it says so (exit 2) and creates
    nothing, neither a database nor a secret key."""
    store = ctx.open_existing_store()
    settings = ctx.settings
    now = utc_now()
    with store.begin() as conn:
        if date_text:
            edition = editions.get_by_date(conn, parse_date(date_text, settings))
        else:
            edition = editions.latest(conn)
        reader = (
            subscribers.require_by_email(conn, email)
            if email
            else Subscriber(0, "reader@example.org", "Reader", token_nonce=secrets.token_hex(16))
        )
    if edition is None:
        fail("no edition is frozen for that date yet: run `newsletter run` first")
        return
    renderer = Renderer(
        settings, Links.for_settings(settings, make_signer(settings)), notices=False
    )
    personalize = make_personalizer(
        store, settings, edition, now, renderer, topics=reader.profile.topics
    )
    message = personalize([reader])[0]
    target = out or Path(f"preview-{edition.date}.html")
    target.write_text(message.html, encoding="utf-8")
    click.echo(f"subject: {message.subject}")
    click.echo(f"html:    {target} ({len(message.data) / 1024:.0f} KB message)")
    if shot_dir is not None:
        from newsletter.ops.screenshot import screenshot_html

        for path in screenshot_html(message.html, shot_dir, f"{edition.date}"):
            click.echo(f"screenshot: {path}")


DEMO_SUBSCRIBERS = (
    ("ada@example.org", "Ada", ("test-time adaptation", "LoRA fine-tuning")),
    ("grace@example.org", "Grace", ("robot manipulation", "reinforcement learning")),
    ("alan@example.org", "Alan", ("diffusion models", "video generation")),
    ("emmy@example.org", "Emmy", ("Bayesian inference", "graph neural networks")),
    ("kurt@example.org", "Kurt", ()),
)


@main.command("demo")
@pass_context
@handle_errors
def demo_command(ctx: Context) -> None:
    """Run the daily job offline on the bundled sample day, into a local Maildir.

    Uses subscribers/demo.db, five sample subscribers with different topics,
    the bundled papers (no network) and Maildir delivery into outbox/.
    """
    from newsletter.sources import sample

    settings = ctx.settings.model_copy(
        update={
            "database_url": "sqlite:///subscribers/demo.db",
            "sources": "sample",
            "delivery": "maildir",
            "outbox_dir": Path("outbox"),
            "archive_dir": Path("archive"),
            "imap_host": None,
        }
    )
    store = open_store(settings)
    with store.begin() as conn:
        for email, name, topics in DEMO_SUBSCRIBERS:
            if subscribers.get_by_email(conn, email) is None:
                subscribers.add(conn, email, now=utc_now(), name=name, profile=Profile(topics))
    store.close()
    report = execute_run(settings, sample.SAMPLE_DATE)
    report_run(report)
    outbox = settings.outbox_dir.resolve()
    click.echo("")
    click.echo(f"Maildir with the sent emails: {outbox}/new/")
    click.echo(f"Each email as a web page:     {outbox}/html/")
    click.echo(f"Web version of the edition:   {settings.archive_dir.resolve()}/index.html")
    click.echo("Open an .html file in a browser, or read the Maildir with `mutt -f outbox`.")
    click.echo("Run `make demo` again: nothing is sent twice.")
