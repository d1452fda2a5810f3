"""The subscriber list as CSV: parse an import, add its rows, write an export.

Import columns: ``email`` (required), ``name``, ``topics`` (separated by ``;``); other
columns are ignored. Every row is checked before anything is written, and a bad row is an
``InputError`` naming its line. Export columns: ``email,name,topics,status``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection

from newsletter.errors import InputError
from newsletter.models import Profile, Subscriber
from newsletter.store import subscribers

IMPORT_COLUMNS = ("email", "name", "topics")
EXPORT_COLUMNS = (*IMPORT_COLUMNS, "status")


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One checked import row: a normalised address, a display name and cleaned topics."""

    email: str
    name: str
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: rows added, and rows left alone because the address was listed."""

    added: int
    skipped: int


def parse_csv(text: str, source: str) -> list[CsvRow]:
    """The rows of CSV ``text`` (``source`` names it in errors: a file name).

    Raises ``InputError`` for a header without ``email``, a bad address or topic, or an
    address that appears twice (case-insensitively), with the line number."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "email" not in header:
        raise InputError("csv", source, f"{source}: the header must name an 'email' column")
    reader.fieldnames = header
    rows: list[CsvRow] = []
    seen: set[str] = set()
    for record in reader:
        line = reader.line_num
        try:
            email = subscribers.normalize_email(record.get("email") or "")
            topics = subscribers.clean_terms((record.get("topics") or "").split(";"))
        except InputError as exc:
            raise InputError("csv", source, f"{source}, line {line}: {exc}") from None
        if email.lower() in seen:
            raise InputError("csv", source, f"{source}, line {line}: {email} appears twice")
        seen.add(email.lower())
        rows.append(CsvRow(email, (record.get("name") or "").strip(), topics))
    return rows


def import_rows(conn: Connection, rows: Iterable[CsvRow], *, now: dt.datetime) -> ImportResult:
    """Add each row as an active subscriber; an address already on the list is left as it
    is (whatever its status). One transaction: the caller's ``conn``."""
    added = skipped = 0
    for row in rows:
        if subscribers.get_by_email(conn, row.email) is not None:
            skipped += 1
            continue
        subscribers.add(conn, row.email, now=now, name=row.name, profile=Profile(topics=row.topics))
        added += 1
    return ImportResult(added, skipped)


def export_csv(everyone: Iterable[Subscriber]) -> str:
    """CSV text (``\\n`` line ends) with a header row and one row per subscriber."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for sub in everyone:
        writer.writerow([sub.email, sub.name, ";".join(sub.topics), sub.status])
    return out.getvalue()
