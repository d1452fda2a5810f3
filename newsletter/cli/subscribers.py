"""``newsletter subscribers ...``: manage the list from the shell."""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from newsletter.cli.base import (
    Context,
    fail,
    handle_errors,
    iso_date,
    main,
    open_store,
    pass_context,
    utc_now,
)
from newsletter.errors import InputError, NotFoundError
from newsletter.files import write_atomic
from newsletter.models import SUBSCRIBER_STATUSES, Profile, Subscriber
from newsletter.ops import subscriber_admin, subscribers_csv
from newsletter.store import subscribers
from newsletter.topic_vectors import cache_topics
from newsletter.words import plural

F = TypeVar("F", bound=Callable[..., Any])


@main.group(name="subscribers")
def subscribers_group() -> None:
    """Add, show, pause, unsubscribe, import, export, list and remove subscribers."""


def usage_errors(func: F) -> F:
    """An unknown address, or a change that does not apply to the reader: one line, exit 2
    (a usage error: nothing was changed)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (NotFoundError, InputError) as exc:
            fail(str(exc), 2)

    return wrapper  # type: ignore[return-value]


def _profile_options(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option("--topic", "topics", multiple=True, help="A topic phrase (repeatable)."),
            click.option(
                "--category", "categories", multiple=True, help="An arXiv category, e.g. cs.RO."
            ),
            click.option("--author", "authors", multiple=True, help="An author to follow."),
            click.option("--exclude", multiple=True, help="Leave out papers with this term."),
        ]
    ):
        func = option(func)
    return func


@subscribers_group.command("add")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@_profile_options
@click.option("--pending", is_flag=True, help="Add unconfirmed (status pending) instead of active.")
@pass_context
@handle_errors
def add_command(
    ctx: Context,
    email: str,
    name: str,
    topics: tuple[str, ...],
    categories: tuple[str, ...],
    authors: tuple[str, ...],
    exclude: tuple[str, ...],
    pending: bool,
) -> None:
    """Add EMAIL as an active subscriber (the operator vouches for the address)."""
    ctx.require_settings()
    profile = Profile(topics=topics, categories=categories, authors=authors, exclude=exclude)
    store = open_store(ctx.settings)
    with store.begin() as conn:
        added = subscribers.add(
            conn,
            email,
            now=utc_now(),
            name=name,
            profile=profile,
            status="pending" if pending else "active",
        )
    click.echo(f"added {added.email} ({added.status}; {_describe(added)})")
    _typo_hints(store, topics)
    cache_topics(store, added.profile.topics, utc_now())


def _typo_hints(store: Any, topics: tuple[str, ...]) -> None:
    """On stderr, "did you mean" for a topic word that looks like a typo of a word of the
    latest edition's papers (issue 16; ``rank.suggest``)."""
    if not topics:
        return
    from newsletter.rank.suggest import Vocabulary
    from newsletter.store import editions

    with store.begin() as conn:
        last = editions.latest(conn)
    if last is None:
        return
    vocabulary = Vocabulary.from_papers(last.papers)
    for topic in topics:
        if hint := vocabulary.suggest(topic):
            click.echo(f"note: “{topic}”: did you mean “{hint}”?", err=True)


@subscribers_group.command("topics")
@click.argument("email")
@click.option("--set", "replace", is_flag=True, help="Replace the profile instead of adding.")
@_profile_options
@click.option("--remove", "remove_terms", multiple=True, help="Remove this topic/term.")
@pass_context
@handle_errors
def topics_command(
    ctx: Context,
    email: str,
    replace: bool,
    topics: tuple[str, ...],
    categories: tuple[str, ...],
    authors: tuple[str, ...],
    exclude: tuple[str, ...],
    remove_terms: tuple[str, ...],
) -> None:
    """Change what EMAIL wants to read: topics, categories, authors, exclusions."""
    store = ctx.open_existing_store()
    with store.begin() as conn:
        found = subscribers.require_by_email(conn, email)
        old = Profile() if replace else found.profile
        drop = {term.casefold() for term in remove_terms}

        def merged(current: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(t for t in current + extra if t.casefold() not in drop)

        profile = Profile(
            topics=merged(old.topics, topics),
            categories=merged(old.categories, categories),
            authors=merged(old.authors, authors),
            exclude=merged(old.exclude, exclude),
        )
        subscribers.set_profile(conn, found.id, profile, now=utc_now())
        updated = subscribers.get(conn, found.id)
    click.echo(f"{updated.email}: {_describe(updated)}")
    _typo_hints(store, topics)
    cache_topics(store, updated.profile.topics, utc_now())


@subscribers_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--reactivate",
    is_flag=True,
    help="Add rows marked unsubscribed or bounced as active (the readers asked again).",
)
@pass_context
@handle_errors
def import_command(ctx: Context, file: Path, reactivate: bool) -> None:
    """Import FILE.csv: an `email` column, and any of `subscribers export`'s columns.

    Lists (topics, ...) are separated by ';'; the file may be UTF-8 or Windows-1252, with
    ',', ';' or tab between columns. Every row is checked first; one bad row stops the
    import with its line number and nothing is written. Addresses already on the list are
    left as they are; unsubscribed and bounced rows stay so unless --reactivate.
    """
    ctx.require_settings()
    rows = subscribers_csv.parse_csv(file.read_bytes(), str(file))
    store = open_store(ctx.settings)
    with store.begin() as conn:
        done = subscribers_csv.import_rows(conn, rows, now=utc_now(), reactivate=reactivate)
    # Every new phrase of the file in one batch (about 2.5 ms of CPU each).
    cache_topics(store, (t for row in rows for t in row.profile.topics), utc_now())
    kept = (
        f"; {done.inactive} of them unsubscribed or bounced, as in the file"
        if done.inactive
        else ""
    )
    click.echo(
        f"imported {plural(done.added, 'subscriber')} from {file}"
        f" ({done.skipped} already on the list)" + kept
    )


@subscribers_group.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_context
@handle_errors
def export_command(ctx: Context, file: Path | None) -> None:
    """Write every subscriber, every field, as CSV to FILE (mode 0600) or stdout (`import`
    reads it back)."""
    store = ctx.open_existing_store()
    with store.begin() as conn:
        everyone = subscribers.list_all(conn)
    text = subscribers_csv.export_csv(everyone)
    if file is None:
        sys.stdout.write(text)
    else:
        if file.exists() and not file.is_file():  # a pipe or a device: written as it is
            file.write_text(text, encoding="utf-8")
        else:  # every address: private (0600), like the database
            write_atomic(file, text)
        click.echo(f"exported {plural(len(everyone), 'subscriber')} to {file}")


@subscribers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@click.option(
    "--status", type=click.Choice(SUBSCRIBER_STATUSES), default=None, help="Only this status."
)
@pass_context
@handle_errors
def list_command(ctx: Context, as_json: bool, status: str | None) -> None:
    """List subscribers with their status and topics."""
    store = ctx.open_existing_store()
    with store.begin() as conn:
        everyone = subscribers.list_all(conn, status)
    if as_json:
        click.echo(json.dumps([_as_json(s) for s in everyone], indent=2))
        return
    if not everyone:
        click.echo("no subscribers")
        return
    for sub in everyone:
        click.echo(f"{sub.email}\t{sub.status}\t{_describe(sub)}")


@subscribers_group.command("remove")
@click.argument("email")
@pass_context
@handle_errors
@usage_errors
def remove_command(ctx: Context, email: str) -> None:
    """Delete EMAIL and its history (to stop sending but keep the history:
    `newsletter subscribers unsubscribe EMAIL`)."""
    store = ctx.open_existing_store()
    with store.begin() as conn:
        removed = subscribers.remove(conn, email)
    click.echo(f"removed {removed.email}")


def _describe(sub: Subscriber) -> str:
    parts = []
    profile = sub.profile
    if profile.topics:
        parts.append("topics: " + subscribers_csv.show_list(profile.topics))
    if profile.categories:
        parts.append("categories: " + ", ".join(profile.categories))
    if profile.authors:
        parts.append("authors: " + ", ".join(profile.authors))
    if profile.exclude:
        parts.append("exclude: " + ", ".join(profile.exclude))
    return " | ".join(parts) or "no topics (gets the day's top papers)"


def _as_json(sub: Subscriber) -> dict[str, object]:
    return {
        "id": sub.id,
        "email": sub.email,
        "name": sub.name,
        "status": sub.status,
        "frequency": sub.frequency,
        "paused_until": sub.paused_until.isoformat() if sub.paused_until else None,
        "topics": list(sub.profile.topics),
        "categories": list(sub.profile.categories),
        "authors": list(sub.profile.authors),
        "exclude": list(sub.profile.exclude),
    }


def _said(change: subscriber_admin.Change, done: str) -> str:
    if not change.changed and change.new != "paused":
        return f"{change.email} is already {change.new}; nothing changed"
    return f"{change.email}: {done} (was {change.old})"


@subscribers_group.command("unsubscribe")
@click.argument("email")
@pass_context
@handle_errors
@usage_errors
def unsubscribe_command(ctx: Context, email: str) -> None:
    """Stop sending to EMAIL, keeping its history (`remove` deletes it)."""
    with ctx.open_existing_store().begin() as conn:
        change = subscriber_admin.unsubscribe(conn, email, now=utc_now())
    click.echo(_said(change, "unsubscribed, no more email"))


@subscribers_group.command("pause")
@click.argument("email")
@click.option(
    "--until",
    callback=iso_date,
    metavar="YYYY-MM-DD",
    help="Send again from the first edition on or after this date (default: until resume).",
)
@pass_context
@handle_errors
@usage_errors
def pause_command(ctx: Context, email: str, until: dt.date | None) -> None:
    """Pause EMAIL: no email until --until, or until `subscribers resume`."""
    with ctx.open_existing_store().begin() as conn:
        change = subscriber_admin.pause(conn, email, now=utc_now(), until=until)
    when = f"until {until.isoformat()}" if until else "until `newsletter subscribers resume`"
    click.echo(_said(change, f"paused {when}"))


@subscribers_group.command("resume")
@click.argument("email")
@pass_context
@handle_errors
@usage_errors
def resume_command(ctx: Context, email: str) -> None:
    """End the pause of EMAIL: it gets the next edition."""
    with ctx.open_existing_store().begin() as conn:
        change = subscriber_admin.resume(conn, email, now=utc_now())
    click.echo(_said(change, "active again"))


@subscribers_group.command("reactivate")
@click.argument("email")
@pass_context
@handle_errors
@usage_errors
def reactivate_command(ctx: Context, email: str) -> None:
    """Make an unsubscribed or bounced EMAIL active again, bounce score reset (they asked
    again, or their mailbox was fixed)."""
    with ctx.open_existing_store().begin() as conn:
        change = subscriber_admin.reactivate(conn, email, now=utc_now())
    click.echo(_said(change, "active again, bounce score 0"))


@subscribers_group.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
@pass_context
@handle_errors
@usage_errors
def show_command(ctx: Context, email: str, as_json: bool) -> None:
    """Everything about EMAIL: profile, status history, last messages with their SMTP
    replies, bounces with reasons, feedback."""
    from newsletter.cli import subscriber_show

    with ctx.open_existing_store().begin() as conn:
        found = subscriber_admin.report(conn, email)
    if as_json:
        click.echo(json.dumps(subscriber_show.as_json(found), indent=2))
    else:
        click.echo(subscriber_show.as_text(found, ctx.settings.timezone), nl=False)
