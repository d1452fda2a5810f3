"""``newsletter db upgrade|status|copy``: schema migrations (also applied on first use), and
copying the whole database to another one (SQLite to PostgreSQL)."""

from __future__ import annotations

import click
from sqlalchemy import select

from newsletter.cli.base import (
    Context,
    fail,
    handle_errors,
    main,
    pass_context,
    sqlite_file,
    utc_now,
)
from newsletter.store import migrations, schema
from newsletter.store.copy import copy_database
from newsletter.store.db import Store
from newsletter.words import plural


@main.group("db")
def db_group() -> None:
    """The database: apply or list migrations, copy to another database."""


@db_group.command("upgrade")
@pass_context
@handle_errors
def upgrade_command(ctx: Context) -> None:
    """Apply every pending migration (SQLite or PostgreSQL, per DATABASE_URL); creates the
    database on a first run, so it stops (exit 2) without any settings."""
    ctx.require_settings()
    store = Store.open(ctx.settings.database_url, now=utc_now(), migrate=False)
    try:
        applied = store.upgrade(utc_now())
    finally:
        store.close()
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("database is up to date")


@db_group.command("status")
@pass_context
@handle_errors
def status_command(ctx: Context) -> None:
    """List applied and pending migrations (creates no database)."""
    if ctx.unconfigured():
        click.echo(f"warning: {ctx.no_settings_line()}", err=True)
    missing = sqlite_file(ctx.settings.database_url)
    if missing is not None and not missing.exists():
        blocked = next((p for p in missing.parents if p.exists() and not p.is_dir()), None)
        if blocked is not None:
            fail(f"no database at {missing}, and none can be made: {blocked} is not a folder", 2)
        for name, _ in migrations.MIGRATIONS:
            click.echo(f"pending  {name}")
        click.echo(f"{len(migrations.MIGRATIONS)} pending (no database at {missing} yet)")
        return
    store = Store.open(ctx.settings.database_url, now=utc_now(), migrate=False)
    try:
        pending = store.pending_migrations()
        with store.begin() as conn:
            applied = (
                set(conn.execute(select(schema.migrations_table.c.name)).scalars())
                if "m001_initial" not in pending
                else set()
            )
    finally:
        store.close()
    for name, _ in migrations.MIGRATIONS:
        click.echo(f"{'applied' if name in applied else 'pending'}  {name}")
    click.echo(f"{len(pending)} pending" if pending else "database is up to date")


@db_group.command("copy")
@click.argument("target_url")
@pass_context
@handle_errors
def copy_command(ctx: Context, target_url: str) -> None:
    """Copy every row of DATABASE_URL into the empty database TARGET_URL.

    Subscribers, editions, the send ledger, feedback, run history: everything, in one
    transaction on the target. Then point DATABASE_URL at TARGET_URL.
    """
    ctx.require_database()  # a missing source is no empty one to copy
    source = Store.open(ctx.settings.database_url, now=utc_now(), migrate=False)
    target = Store.open(target_url, now=utc_now(), migrate=False)
    try:
        copied = copy_database(source, target, utc_now())
    finally:
        source.close()
        target.close()
    rows = ", ".join(f"{name} {n}" for name, n in copied.items() if n)
    click.echo(f"copied {plural(sum(copied.values()), 'row')} ({rows or 'empty database'})")
