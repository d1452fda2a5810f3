"""The operator's view of and hand on the send ledger: what failed, who was suppressed,
and the two recovery commands (``newsletter send --retry --now`` and
``newsletter send --resend-failed``).

- ``problem_rows``: ``failed`` and ``unknown`` rows changed since a time, newest first,
  with the subscriber's address, the edition's date and the last SMTP reply.
- ``suppressed_since``: subscribers whose status became ``bounced`` since a time, with the
  last reason the store holds (the last refused message's SMTP reply, or the bounce the
  reply mailbox read).
- ``make_due_now``: ``deferred`` rows become due now; the normal send then claims them.
- ``requeue_failed``: ``failed`` rows (``unknown`` only when asked) of readers who may still
  be sent to go back to ``pending``, queued anew (so ``GIVE_UP_AFTER_HOURS`` counts from
  now). Never a ``sent`` row.

No row that a sender holds (``sending``) is touched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, func, select, update

from newsletter.store.records import (
    BounceEvent,
    ProblemRow,
    Refusal,
    Suppressed,
    suppression_reason,
)
from newsletter.store.schema import editions, inbox_events, ledger, subscribers

__all__ = [
    "ProblemRow",
    "Suppressed",
    "left_out",
    "make_due_now",
    "problem_rows",
    "requeue_failed",
    "waiting_later",
]


def problem_rows(
    conn: Connection, since: dt.datetime, *, limit: int = 20
) -> tuple[list[tuple[dt.date, str, int]], list[ProblemRow]]:
    """``failed`` and ``unknown`` rows updated at or after ``since`` (every edition):
    (edition date, state, count) for all of them, newest edition first, and the newest
    ``limit`` rows."""
    where = [ledger.c.state.in_(["failed", "unknown"]), ledger.c.updated_at >= since]
    totals = [
        (date, str(state), int(count))
        for date, state, count in conn.execute(
            select(editions.c.date, ledger.c.state, func.count())
            .join(editions, editions.c.id == ledger.c.edition_id)
            .where(*where)
            .group_by(editions.c.date, ledger.c.state)
            .order_by(editions.c.date.desc(), ledger.c.state)
        )
    ]
    query = (
        select(
            editions.c.date,
            subscribers.c.email,
            ledger.c.state,
            ledger.c.attempts,
            ledger.c.updated_at,
            ledger.c.last_code,
            ledger.c.last_text,
        )
        .join(editions, editions.c.id == ledger.c.edition_id)
        .join(subscribers, subscribers.c.id == ledger.c.subscriber_id)
        .where(*where)
        .order_by(ledger.c.updated_at.desc(), ledger.c.id.desc())
        .limit(limit)
    )
    found = [ProblemRow(*row) for row in conn.execute(query)]
    return totals, found


def suppressed_since(conn: Connection, since: dt.datetime, *, limit: int = 20) -> list[Suppressed]:
    """Subscribers now ``bounced`` whose row changed at or after ``since``, newest first."""
    query = (
        select(
            subscribers.c.id, subscribers.c.email, subscribers.c.status, subscribers.c.updated_at
        )
        .where(subscribers.c.status == "bounced", subscribers.c.updated_at >= since)
        .order_by(subscribers.c.updated_at.desc())
        .limit(limit)
    )
    return [
        Suppressed(email, status, when, _reason(conn, int(sid)))
        for sid, email, status, when in conn.execute(query)
    ]


def _reason(conn: Connection, subscriber_id: int) -> str:
    """The last refusal the ledger holds for the subscriber, else the last bounce read
    from the reply mailbox, else "bounce score over the threshold"."""
    refused = conn.execute(
        select(ledger.c.last_code, ledger.c.last_text, ledger.c.updated_at)
        .where(
            ledger.c.subscriber_id == subscriber_id,
            ledger.c.state == "failed",
            ledger.c.last_code.is_not(None),
        )
        .order_by(ledger.c.updated_at.desc())
        .limit(1)
    ).first()
    bounce = conn.execute(
        select(inbox_events.c.detail, inbox_events.c.created_at)
        .where(inbox_events.c.subscriber_id == subscriber_id, inbox_events.c.kind == "bounce")
        .order_by(inbox_events.c.created_at.desc())
        .limit(1)
    ).first()
    return suppression_reason(
        Refusal(*refused) if refused else None, BounceEvent(*bounce) if bounce else None
    )


def _scope(edition_id: int | None, subscriber_id: int | None) -> list[Any]:
    where: list[Any] = []
    if edition_id is not None:
        where.append(ledger.c.edition_id == edition_id)
    if subscriber_id is not None:
        where.append(ledger.c.subscriber_id == subscriber_id)
    return where


def make_due_now(conn: Connection, now: dt.datetime, *, edition_id: int | None = None) -> int:
    """``deferred`` rows waiting for a later retry become due at ``now``; returns how many
    deferred rows are due now, those moved forward and those whose retry time had already
    come (both are sent by the next send). Attempts and replies stay."""
    statement = (
        update(ledger)
        .where(
            ledger.c.state == "deferred",
            ledger.c.next_attempt_at.is_not(None),
            ledger.c.next_attempt_at > now,
            *_scope(edition_id, None),
        )
        .values(next_attempt_at=now, updated_at=now)
    )
    conn.execute(statement)
    due = select(func.count()).where(
        ledger.c.state == "deferred",
        (ledger.c.next_attempt_at.is_(None)) | (ledger.c.next_attempt_at <= now),
        *_scope(edition_id, None),
    )
    return int(conn.execute(due).scalar_one())


def requeue_failed(
    conn: Connection,
    now: dt.datetime,
    *,
    edition_id: int | None = None,
    subscriber_id: int | None = None,
    include_unknown: bool = False,
) -> tuple[int, list[str]]:
    """``failed`` rows (and ``unknown`` with ``include_unknown``: the body may have gone
    out, so the reader may get it twice) of subscribers who may still be sent to
    (``active`` or ``paused``) return to ``pending`` as if queued at ``now``: attempts 0,
    no claim, no retry time. ``sent`` and ``sending`` rows are never touched.
    Returns (rows requeued, the addresses of the readers whose rows were left because
    they are bounced, unsubscribed or not confirmed, sorted)."""
    states = ["failed", "unknown"] if include_unknown else ["failed"]
    where = [ledger.c.state.in_(states), *_scope(edition_id, subscriber_id)]
    reachable = select(subscribers.c.id).where(subscribers.c.status.in_(["active", "paused"]))
    statement = (
        update(ledger)
        .where(*where, ledger.c.subscriber_id.in_(reachable))
        .values(
            state="pending",
            attempts=0,
            claimed_at=None,
            claimed_by=None,
            next_attempt_at=None,
            data_started_at=None,
            created_at=now,
            updated_at=now,
        )
    )
    requeued = int(conn.execute(statement).rowcount)
    return requeued, _readers(conn, where)


def left_out(conn: Connection, edition_id: int) -> list[str]:
    """The addresses (sorted) of the readers whose ``failed`` rows in this edition
    ``requeue_failed`` would leave: bounced, unsubscribed or not confirmed."""
    return _readers(conn, [ledger.c.state == "failed", *_scope(edition_id, None)])


def _readers(conn: Connection, where: list[Any]) -> list[str]:
    """Distinct addresses of the rows matching ``where`` whose reader may not be sent to."""
    found = conn.execute(
        select(subscribers.c.email)
        .distinct()
        .select_from(ledger.join(subscribers, subscribers.c.id == ledger.c.subscriber_id))
        .where(*where, subscribers.c.status.not_in(["active", "paused"]))
        .order_by(subscribers.c.email)
    ).scalars()
    return [str(email) for email in found]


def waiting_later(
    conn: Connection, now: dt.datetime, *, edition_id: int | None = None
) -> tuple[int, dt.datetime | None]:
    """``deferred`` rows whose retry time is after ``now`` (every edition, or one): how
    many, and the earliest retry time (UTC; None when there is none)."""
    found = conn.execute(
        select(func.count(), func.min(ledger.c.next_attempt_at)).where(
            ledger.c.state == "deferred",
            ledger.c.next_attempt_at > now,
            *_scope(edition_id, None),
        )
    ).one()
    first = found[1]
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=dt.UTC)
    return int(found[0]), first
