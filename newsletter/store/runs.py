"""Run history and source health, for ``newsletter status`` and alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select, update

from newsletter.store.records import RunRecord, SourceHealth
from newsletter.store.schema import runs, source_health

__all__ = ["RunRecord", "SourceHealth"]


def start(conn: Connection, command: str, edition_date: dt.date | None, now: dt.datetime) -> int:
    """Record the start of a run; returns its id."""
    result = conn.execute(
        insert(runs).values(command=command, edition_date=edition_date, started_at=now)
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish(
    conn: Connection,
    run_id: int,
    *,
    outcome: str,
    summary: str,
    counts: dict[str, Any] | None,
    now: dt.datetime,
) -> None:
    """Record how run ``run_id`` ended."""
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(finished_at=now, outcome=outcome, summary=summary, counts=counts)
    )


def recent(conn: Connection, limit: int = 10) -> list[RunRecord]:
    """The ``limit`` most recent runs, newest first."""
    query = select(runs).order_by(runs.c.id.desc()).limit(limit)
    return [RunRecord(**dict(row)) for row in conn.execute(query).mappings()]


def last_run_by_edition(conn: Connection, since: dt.date) -> dict[dt.date, RunRecord]:
    """The last ``newsletter run`` of each edition dated ``since`` or later."""
    query = (
        select(runs)
        .where(runs.c.command == "run", runs.c.edition_date >= since)
        .order_by(runs.c.id)
    )
    found: dict[dt.date, RunRecord] = {}
    for row in conn.execute(query).mappings():
        record = RunRecord(**dict(row))
        if record.edition_date is not None:
            found[record.edition_date] = record
    return found


def record_sources(
    conn: Connection, reports: Iterable[tuple[str, bool, int, str]], now: dt.datetime
) -> None:
    """Upsert (source, ok, count, error) for each source tried in a run."""
    for source, ok, count, error in reports:
        exists = conn.execute(
            select(source_health.c.source).where(source_health.c.source == source)
        ).first()
        values: dict[str, Any] = {
            "last_attempt_at": now,
            "ok": ok,
            "last_count": count,
            "last_error": None if ok else error,
        }
        if ok:
            values["last_success_at"] = now
        if exists:
            conn.execute(
                update(source_health).where(source_health.c.source == source).values(**values)
            )
        else:
            conn.execute(insert(source_health).values(source=source, **values))


def sources(conn: Connection) -> list[SourceHealth]:
    """Every source's last result."""
    query = select(source_health).order_by(source_health.c.source)
    return [SourceHealth(**dict(row)) for row in conn.execute(query).mappings()]
