"""The subscriber list as CSV: parse an import, add its rows, write an export.

An export names every field a reader chose or the list decided (``EXPORT_COLUMNS``); lists
(topics, categories, authors, exclusions) are joined with ``;``, a ``;`` or ``\\`` inside an
item escaped with a ``\\`` (``join_list``, ``split_list``). Importing an export
restores it: a row keeps its status, so an unsubscribed or bounced reader is never made
active again unless the operator says so (``reactivate``). Only ``email`` is required;
a missing column takes the default (active, daily).

Files are read as UTF-8 (with or without a byte-order mark) or, failing that, as
Windows-1252 (what Excel saves); the separator is ``,``, ``;`` or a tab, sniffed from the
header line (``csv.Sniffer``). Every row is checked before anything is written, and a bad
row is an ``InputError`` naming its line.

A cell an export writes that would start with ``=``, ``+``, ``-`` or ``@`` (a name or topic
someone typed into the sign-up form as a formula) gets a leading ``'``, so a spreadsheet
shows it as text instead of running it (CSV injection, CWE-1236; OWASP "CSV Injection");
an import takes that ``'`` off again.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast, get_args

from sqlalchemy import Connection

from newsletter import addresses
from newsletter.errors import InputError
from newsletter.models import SUBSCRIBER_STATUSES, Frequency, Profile, Subscriber, SubscriberStatus
from newsletter.store import subscribers

EXPORT_COLUMNS = (
    "email",
    "name",
    "status",
    "frequency",
    "paused_until",
    "topics",
    "categories",
    "authors",
    "exclude",
)
SEPARATORS = ",;\t"
FORMULA_START = ("=", "+", "-", "@")
INACTIVE: tuple[SubscriberStatus, ...] = ("unsubscribed", "bounced")


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One checked import row: a normalised address and what the file says about it."""

    email: str
    name: str = ""
    profile: Profile = field(default_factory=Profile)
    status: SubscriberStatus = "active"
    frequency: Frequency = "daily"
    paused_until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: rows ``added``; rows ``skipped`` because the address was on the
    list already (left as it is); ``inactive``: added rows kept unsubscribed or bounced."""

    added: int
    skipped: int
    inactive: int = 0


def decode(data: bytes, source: str) -> str:
    """CSV bytes as text: UTF-8 (a BOM is dropped), else Windows-1252; ``InputError`` when
    neither fits."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise InputError("csv", source, f"{source}: not UTF-8 or Windows-1252 text") from None


def _dialect(header: str) -> str:
    """The separator of ``header`` among ``,``, ``;`` and tab: the sniffed one when it
    yields an ``email`` column, else the first that does (``,`` when none)."""
    candidates = list(SEPARATORS)
    with contextlib.suppress(csv.Error):
        candidates.insert(0, csv.Sniffer().sniff(header, delimiters=SEPARATORS).delimiter)
    for separator in candidates:
        names = next(csv.reader([header], delimiter=separator), [])
        if "email" in {n.strip().lower() for n in names}:
            return separator
    return ","


def parse_csv(text: str | bytes, source: str) -> list[CsvRow]:
    """The rows of a CSV file (``source`` names it in errors: a file name).

    Raises ``InputError`` for text that cannot be decoded, a header without ``email``, a bad
    address, status, frequency, date or term, or an address that appears twice
    (case-insensitively), with the line number."""
    if isinstance(text, bytes):
        text = decode(text, source)
    header = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=_dialect(header))
    names = [h.strip().lower() for h in reader.fieldnames or []]
    if "email" not in names:
        raise InputError(
            "csv",
            source,
            f"{source}: the header must name an 'email' column (separated by , ; or tab)",
        )
    reader.fieldnames = names
    rows: list[CsvRow] = []
    seen: set[str] = set()
    for record in reader:
        line = reader.line_num
        try:
            row = _row({k: _from_cell(v) for k, v in record.items() if isinstance(k, str)})
        except InputError as exc:
            raise InputError("csv", source, f"{source}, line {line}: {exc}") from None
        if row.email.lower() in seen:
            raise InputError("csv", source, f"{source}, line {line}: {row.email} appears twice")
        seen.add(row.email.lower())
        rows.append(row)
    return rows


def _to_cell(text: str) -> str:
    """``text`` as an export cell: a leading ``'`` when a spreadsheet would take it as a
    formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _from_cell(value: str | None) -> str:
    """An import cell stripped, with ``_to_cell``'s ``'`` taken off."""
    text = (value or "").strip()
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def _terms(value: str, name: str) -> tuple[str, ...]:
    return subscribers.clean_terms(split_list(value), name)


def escape_item(item: str) -> str:
    """One list item with each ``\\`` and ``;`` escaped by a ``\\`` (``a; b`` -> ``a\\; b``)."""
    return item.replace("\\", "\\\\").replace(";", "\\;")


def join_list(items: Iterable[str]) -> str:
    """A list as one cell: items joined with ``;``, each escaped (``escape_item``), so
    ``split_list`` gives the items back."""
    return ";".join(escape_item(item) for item in items)


def show_list(items: Iterable[str]) -> str:
    """A list for people (``subscribers list``/``show``): items joined with ``; ``, each
    escaped as in a CSV cell, so a topic holding ``;`` does not read as two."""
    return "; ".join(escape_item(item) for item in items)


def split_list(cell: str) -> list[str]:
    """``join_list`` undone: split at each ``;`` not escaped, then unescape. A cell typed by
    hand without backslashes splits at every ``;``."""
    items: list[str] = []
    current: list[str] = []
    chars = iter(cell)
    for char in chars:
        if char == "\\":
            current.append(next(chars, "\\"))
        elif char == ";":
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items


def _row(record: dict[str, str]) -> CsvRow:
    email = addresses.normalize_email(record.get("email", ""))
    status = record.get("status") or "active"
    if status not in SUBSCRIBER_STATUSES:
        raise InputError("status", status, f"unknown status {status!r}")
    frequency = record.get("frequency") or "daily"
    if frequency not in get_args(Frequency):
        raise InputError("frequency", frequency, f"unknown frequency {frequency!r}")
    until = record.get("paused_until") or ""
    try:
        paused_until = dt.date.fromisoformat(until) if until else None
    except ValueError:
        raise InputError("paused_until", until, f"not a date (YYYY-MM-DD): {until!r}") from None
    profile = Profile(
        topics=_terms(record.get("topics", ""), "topics"),
        categories=_terms(record.get("categories", ""), "categories"),
        authors=_terms(record.get("authors", ""), "authors"),
        exclude=_terms(record.get("exclude", ""), "exclude"),
    )
    return CsvRow(
        email=email,
        name=record.get("name", ""),
        profile=profile,
        status=status,
        frequency=cast(Frequency, frequency),
        paused_until=paused_until,
    )


def import_rows(
    conn: Connection, rows: Sequence[CsvRow], *, now: dt.datetime, reactivate: bool = False
) -> ImportResult:
    """Add each row whose address is not on the list, with its status, frequency, pause and
    profile; an address already listed is left as it is. An unsubscribed or bounced row is
    added as such unless ``reactivate`` (then active). One transaction: the caller's.

    Set-based: the list's addresses are read once, and the new rows are inserted in batches
    (``subscribers.add_many``), so the time grows with the rows, not with their square."""
    listed = subscribers.listed_addresses(conn)
    new: list[Subscriber] = []
    skipped = inactive = 0
    for row in rows:
        key = row.email.lower()
        if key in listed:
            skipped += 1
            continue
        listed.add(key)
        status: SubscriberStatus = "active" if reactivate and row.status in INACTIVE else row.status
        inactive += status in INACTIVE
        new.append(
            Subscriber(
                id=0,
                email=row.email,
                name=row.name,
                profile=row.profile,
                status=status,
                frequency=row.frequency,
                paused_until=row.paused_until,
            )
        )
    added = subscribers.add_many(conn, new, now=now, cleaned=True)  # parse_csv cleaned them
    return ImportResult(added, skipped, inactive)


def export_csv(everyone: Iterable[Subscriber]) -> str:
    """CSV text (``\\n`` line ends): the ``EXPORT_COLUMNS`` header, one row per subscriber."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for sub in everyone:
        profile = sub.profile
        row = [
            sub.email,
            sub.name,
            sub.status,
            sub.frequency,
            sub.paused_until.isoformat() if sub.paused_until else "",
            join_list(profile.topics),
            join_list(profile.categories),
            join_list(profile.authors),
            join_list(profile.exclude),
        ]
        writer.writerow([_to_cell(cell) for cell in row])
    return out.getvalue()
