"""``newsletter status [--json] [--check]``: prints the snapshot ``newsletter.ops.status``
gathers, as text or JSON; ``--check`` exits 2 when it lists any problem."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import click

from newsletter.cli.base import (
    Context,
    handle_errors,
    main,
    open_store,
    pass_context,
    sqlite_file,
    utc_now,
)
from newsletter.ops.status import gather
from newsletter.text import local_time
from newsletter.words import plural

if TYPE_CHECKING:
    from newsletter.config import Settings
    from newsletter.status_settings import StatusSettings


def format_text(snapshot: dict[str, Any], settings: Settings | StatusSettings) -> str:
    """The snapshot of ``newsletter.ops.status.gather`` as the text ``status`` prints:
    runs, editions, sources, failed and unknown messages with their last SMTP reply, readers
    suppressed, subscribers, schedule and problems, times in TIMEZONE."""

    def when(value: str | None) -> str:
        return local_time(value, settings.timezone)

    lines = [f"Runs (last {len(snapshot['runs'])})"]
    for run in snapshot["runs"] or []:
        took = f"{run['seconds']:.1f}s" if run["seconds"] is not None else "-"
        lines.append(
            f"  {when(run['started_at'])}  {run['command']} {run['date'] or '-'}  "
            f"{run['outcome']:<10} {took:>7}  {run['summary']}"
            + ("  (since then: every message sent)" if run.get("settled") else "")
        )
    if not snapshot["runs"]:
        lines.append("  none yet")
    lines.append("Editions")
    for edition in snapshot["editions"]:
        counts = ", ".join(f"{state} {n}" for state, n in edition["counts"].items() if n)
        without = ", ".join(m["source"] for m in edition["missing"])
        lines.append(
            f"  {edition['date']}  {plural(edition['papers'], 'paper')}  {counts or 'no recipients'}"
            + (f"  (sent without {without})" if without else "")
        )
        oldest = edition["oldest_deferred"]
        if oldest:
            lines.append(
                f"    oldest deferred: {oldest['email'] or oldest['subscriber_id']}, "
                f"{plural(oldest['attempts'], 'attempt')}, next {when(oldest['next_attempt_at'])}: "
                f"{oldest['last_code'] or ''} {oldest['last_error'] or ''}".rstrip()
            )
    if not snapshot["editions"]:
        lines.append("  none yet")
    lines.append("Sources")
    for source in snapshot["sources"]:
        state = "ok" if source["ok"] else "FAILING"
        line = f"  {source['source']:<28} {state:<8} last success {when(source['last_success_at'])}"
        if source["ok"] and source["last_count"] is not None:
            line += f" ({plural(source['last_count'], 'paper')})"
        if not source["ok"]:
            line += f"; error: {source['last_error']}"
        lines.append(line)
    if not snapshot["sources"]:
        lines.append("  none tried yet")
    failures = snapshot["failures"]
    lines.append(f"Failed and unknown messages (since {when(failures['since'])})")
    for message in failures["messages"]:
        reply = f"{message['last_code'] or ''} {message['last_reply'] or ''}".strip()
        lines.append(
            f"  {message['edition']}  {message['email']}  {message['state']}, "
            f"{plural(message['attempts'], 'attempt')}, {when(message['at'])}: {reply or 'no reply'}"
        )
    shown = len(failures["messages"])
    total = sum(group["count"] for group in failures["counts"])
    if total > shown:
        lines.append(f"  ... and {total - shown} more (`newsletter status --json` counts them)")
    if not failures["messages"]:
        lines.append("  none")
    lines.append(f"Readers suppressed (since {when(failures['since'])})")
    for reader in snapshot["suppressed"]:
        lines.append(
            f"  {reader['email']}  {reader['status']} {when(reader['since'])}: {reader['reason']}"
        )
    if not snapshot["suppressed"]:
        lines.append("  none")
    lines.append("Subscribers")
    lines.append("  " + ", ".join(f"{s} {n}" for s, n in snapshot["subscribers"].items()))
    plan = snapshot["schedule"]
    lines.append("Schedule")
    lines.append(f"  latest complete: edition {plan['latest_complete']}, {plan['latest_state']}")
    lines.append(f"  {plan['line']}")
    lines.append("Problems")
    lines += [f"  {p}" for p in snapshot["problems"]] or ["  none"]
    return "\n".join(lines)


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for monitoring).")
@click.option("--runs", "run_limit", default=5, show_default=True, type=click.IntRange(1, 500))
@click.option("--editions", "edition_limit", default=3, show_default=True, type=click.IntRange(0))
@click.option("--check", is_flag=True, help="Exit 2 when any problem is listed.")
@pass_context
@handle_errors
def status_command(
    ctx: Context, as_json: bool, run_limit: int, edition_limit: int, check: bool
) -> None:
    """Show the last runs, messages by state, problems with their reasons, sources and
    subscribers.

    Failed and unknown messages are listed with their last SMTP reply, and readers
    suppressed recently with the reason. Creates nothing: without a database here it
    says so (exit 2).

    Also the schedule decision: the latest complete edition and the next one
    (which arXiv announcement and HF lists it holds, and when it is complete).
    --check exits 2 on any listed problem: no run yet, or none since a due
    edition; a last run that failed, waited, partly failed or never finished; a
    failing source; the latest edition sent without a source or with messages
    waiting; rows deferred for more than a day in any edition; an earlier edition
    that waited for a source and was never made; messages failed or unknown, and
    readers suppressed, in the last three days.
    """
    settings = ctx.status_settings()
    ctx.require_database(settings.database_url)
    snapshot = _gather(ctx, settings, utc_now(), run_limit=run_limit, edition_limit=edition_limit)
    if as_json:
        click.echo(json.dumps(snapshot, indent=2))
    else:
        click.echo(format_text(snapshot, settings))
    if check and snapshot["problems"]:
        raise SystemExit(2)


def _gather(
    ctx: Context, settings: StatusSettings, now: dt.datetime, *, run_limit: int, edition_limit: int
) -> dict[str, Any]:
    """The snapshot: on SQLite with a current schema, read with ``sqlite3`` (read-only, no
    SQLAlchemy or pydantic to import: a fast start); otherwise (PostgreSQL, or a migration
    pending) through the store with every setting checked, as every command opens it."""
    path = sqlite_file(settings.database_url)
    if path is not None:
        from newsletter.store.status_sqlite import SqliteStatusReads

        with SqliteStatusReads.open_current(path) as reads:
            if reads is not None:
                return gather(
                    reads, settings, now, run_limit=run_limit, edition_limit=edition_limit
                )
    full = ctx.settings
    store = open_store(full)
    try:
        with store.begin() as conn:
            return gather(conn, full, now, run_limit=run_limit, edition_limit=edition_limit)
    finally:
        store.close()
