"""Which operator alerts were already emailed: one per (edition date, kind of problem)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select

from newsletter.store.db import upsert_insert
from newsletter.store.schema import alerts_sent


def already_sent(conn: Connection, date: dt.date, kind: str) -> bool:
    """Whether an alert of ``kind`` for ``date`` was already emailed."""
    query = select(alerts_sent.c.kind).where(
        alerts_sent.c.edition_date == date, alerts_sent.c.kind == kind
    )
    return conn.execute(query).first() is not None


def remember(conn: Connection, date: dt.date, kind: str, now: dt.datetime) -> None:
    """Record that the alert of this kind for this edition went out (idempotent)."""
    conn.execute(
        upsert_insert(conn)(alerts_sent)
        .values(edition_date=date, kind=kind, sent_at=now)
        .on_conflict_do_nothing()
    )
