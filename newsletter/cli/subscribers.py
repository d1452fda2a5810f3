"""``newsletter subscribers ...``: manage the list from the shell."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import click

from newsletter import addresses
from newsletter.cli.base import Context, handle_errors, main, open_store, pass_context, utc_now
from newsletter.errors import InputError
from newsletter.models import Profile, Subscriber
from newsletter.store import subscribers

CSV_COLUMNS = ("email", "name", "topics")


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
@pass_context
@handle_errors
def import_command(ctx: Context, file: Path) -> None:
    """Import FILE.csv with columns email,name,topics (topics separated by ';').

    Every row is checked first; one bad row stops the import with its line number
    and nothing is written. Addresses already on the list are left as they are.
    """
    rows = parse_csv(file.read_text(encoding="utf-8-sig"), str(file))
    store = open_store(ctx.settings)
    added = skipped = 0
    now = utc_now()
    with store.begin() as conn:
        for email, name, topics in rows:
            if subscribers.get_by_email(conn, email) is not None:
                skipped += 1
                continue
            subscribers.add(conn, email, now=now, name=name, profile=Profile(topics=topics))
            added += 1
    click.echo(f"imported {added} subscribers from {file} ({skipped} already on the list)")


def parse_csv(text: str, source: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """Rows of (email, name, topics) from CSV text, or an ``InputError`` naming the line."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "email" not in header:
        raise InputError("csv", source, f"{source}: the header must name an 'email' column")
    reader.fieldnames = header
    rows: list[tuple[str, str, tuple[str, ...]]] = []
    seen: set[str] = set()
    for record in reader:
        line = reader.line_num
        try:
            email = addresses.normalize_email(record.get("email") or "")
            topics = subscribers.clean_terms((record.get("topics") or "").split(";"))
        except InputError as exc:
            raise InputError("csv", source, f"{source}, line {line}: {exc}") from None
        if email.lower() in seen:
            raise InputError("csv", source, f"{source}, line {line}: {email} appears twice")
        seen.add(email.lower())
        rows.append((email, (record.get("name") or "").strip(), topics))
    return rows


@subscribers_group.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_context
@handle_errors
def export_command(ctx: Context, file: Path | None) -> None:
    """Write every subscriber as CSV (email,name,topics,status) to FILE or stdout."""
    store = open_store(ctx.settings)
    with store.begin() as conn:
        everyone = subscribers.list_all(conn)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, "status"])
    for sub in everyone:
        writer.writerow([sub.email, sub.name, ";".join(sub.topics), sub.status])
    if file is None:
        sys.stdout.write(out.getvalue())
    else:
        file.write_text(out.getvalue(), encoding="utf-8")
        click.echo(f"exported {len(everyone)} subscribers to {file}")


@subscribers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@click.option("--status", default=None, help="Only this status (active, pending, ...).")
@pass_context
@handle_errors
def list_command(ctx: Context, as_json: bool, status: str | None) -> None:
    """List subscribers with their status and topics."""
    store = open_store(ctx.settings)
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
