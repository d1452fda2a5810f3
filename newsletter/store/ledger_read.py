"""Reading the send ledger: rows by edition and state, what is due, who holds what.

No writes here (``newsletter.store.ledger`` has them, and re-exports these names).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from newsletter.models import LEDGER_STATES, LedgerRow
from newsletter.store.schema import ledger

COLUMNS = [ledger.c[name] for name in LedgerRow.__slots__]


def to_row(mapping: Any) -> LedgerRow:
    """A ``LedgerRow`` from a result row's mapping."""
    return LedgerRow(**{name: mapping[name] for name in LedgerRow.__slots__})


def deferred_before(conn: Connection, before: dt.datetime) -> tuple[int, LedgerRow | None]:
    """Deferred rows (any edition) queued before ``before``: how many, and the oldest."""
    condition = [ledger.c.state == "deferred", ledger.c.created_at < before]
    count = int(conn.execute(select(func.count()).where(*condition)).scalar_one())
    oldest = (
        conn.execute(
            select(*COLUMNS).where(*condition).order_by(ledger.c.created_at, ledger.c.id).limit(1)
        )
        .mappings()
        .first()
    )
    return count, (to_row(oldest) if oldest else None)


def counts(conn: Connection, edition_id: int) -> dict[str, int]:
    """Rows by state; every state is present (0 when none)."""
    rows = conn.execute(
        select(ledger.c.state, func.count())
        .where(ledger.c.edition_id == edition_id)
        .group_by(ledger.c.state)
    ).all()
    found = {state: int(n) for state, n in rows}
    return {state: found.get(state, 0) for state in LEDGER_STATES}


def oldest_deferred(conn: Connection, edition_id: int) -> LedgerRow | None:
    """The edition's deferred row queued longest ago, or None."""
    row = (
        conn.execute(
            select(*COLUMNS)
            .where(ledger.c.edition_id == edition_id, ledger.c.state == "deferred")
            .order_by(ledger.c.created_at, ledger.c.id)
            .limit(1)
        )
        .mappings()
        .first()
    )
    return to_row(row) if row else None


def next_due(
    conn: Connection,
    edition_id: int,
    *,
    include_unknown: bool = False,
    only: Sequence[int] | None = None,
) -> dt.datetime | None:
    """The earliest ``next_attempt_at`` of rows waiting for a retry."""
    states = ["deferred", "unknown"] if include_unknown else ["deferred"]
    query = select(ledger.c.next_attempt_at).where(
        ledger.c.edition_id == edition_id,
        ledger.c.state.in_(states),
        ledger.c.next_attempt_at.is_not(None),
    )
    if only is not None:
        query = query.where(ledger.c.subscriber_id.in_(list(only)))
    value: dt.datetime | None = conn.execute(
        query.order_by(ledger.c.next_attempt_at).limit(1)
    ).scalar()
    return value


def rows(conn: Connection, edition_id: int) -> list[LedgerRow]:
    """Every row of the edition, in id order."""
    query = select(*COLUMNS).where(ledger.c.edition_id == edition_id).order_by(ledger.c.id)
    return [to_row(r) for r in conn.execute(query).mappings()]


def sent_since(conn: Connection, since: dt.datetime) -> list[dt.datetime]:
    """When each message of the last while went out (all editions): seeds the hourly limit."""
    query = select(ledger.c.sent_at).where(ledger.c.state == "sent", ledger.c.sent_at >= since)
    return [t for t in conn.execute(query).scalars() if t is not None]


def editions_with_work(
    conn: Connection, now: dt.datetime, *, include_unknown: bool = False
) -> list[int]:
    """Editions that have pending rows or retries due."""
    retry_states = ["deferred", "unknown"] if include_unknown else ["deferred"]
    query = (
        select(ledger.c.edition_id)
        .where(
            or_(
                ledger.c.state == "pending",
                and_(
                    ledger.c.state.in_(retry_states),
                    or_(ledger.c.next_attempt_at.is_(None), ledger.c.next_attempt_at <= now),
                ),
            )
        )
        .group_by(ledger.c.edition_id)
        .order_by(ledger.c.edition_id)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def has_received(conn: Connection, subscriber_id: int) -> bool:
    """Whether any edition was ever recorded ``sent`` to this subscriber."""
    query = select(ledger.c.id).where(
        ledger.c.subscriber_id == subscriber_id, ledger.c.state == "sent"
    )
    return conn.execute(query.limit(1)).first() is not None


def claimers(conn: Connection) -> list[str]:
    """Workers that currently hold rows in ``sending``."""
    query = (
        select(ledger.c.claimed_by)
        .where(ledger.c.state == "sending", ledger.c.claimed_by.is_not(None))
        .group_by(ledger.c.claimed_by)
    )
    return [str(w) for w in conn.execute(query).scalars()]
