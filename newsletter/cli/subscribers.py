"""``newsletter subscribers ...``: manage the list from the shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from newsletter.cli.base import Context, handle_errors, main, open_store, pass_context, utc_now
from newsletter.models import Profile, Subscriber
from newsletter.ops import subscribers_csv
from newsletter.store import subscribers


@main.group(name="subscribers")
def subscribers_group() -> None:
    """Add, import, export, list and remove subscribers."""


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
    store = open_store(ctx.settings)
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
    rows = subscribers_csv.parse_csv(file.read_bytes(), str(file))
    store = open_store(ctx.settings)
    with store.begin() as conn:
        done = subscribers_csv.import_rows(conn, rows, now=utc_now(), reactivate=reactivate)
    kept = (
        f"; {done.inactive} of them unsubscribed or bounced, as in the file"
        if done.inactive
        else ""
    )
    click.echo(
        f"imported {done.added} subscribers from {file} ({done.skipped} already on the list)" + kept
    )


@subscribers_group.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_context
@handle_errors
def export_command(ctx: Context, file: Path | None) -> None:
    """Write every subscriber, every field, as CSV to FILE or stdout (`import` reads it back)."""
    store = ctx.open_existing_store()
    with store.begin() as conn:
        everyone = subscribers.list_all(conn)
    text = subscribers_csv.export_csv(everyone)
    if file is None:
        sys.stdout.write(text)
    else:
        file.write_text(text, encoding="utf-8")
        click.echo(f"exported {len(everyone)} subscribers to {file}")


@subscribers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@click.option("--status", default=None, help="Only this status (active, pending, ...).")
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
def remove_command(ctx: Context, email: str) -> None:
    """Delete EMAIL and its history (to stop sending but keep history: unsubscribe instead)."""
    store = open_store(ctx.settings)
    with store.begin() as conn:
        removed = subscribers.remove(conn, email)
    click.echo(f"removed {removed.email}")


def _describe(sub: Subscriber) -> str:
    parts = []
    profile = sub.profile
    if profile.topics:
        parts.append("topics: " + "; ".join(profile.topics))
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
