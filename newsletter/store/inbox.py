"""Reply-mailbox events: each message is handled once (``message_key`` is unique)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select

from newsletter.store.records import (  # the event kinds: defined there, named here
    BOUNCE,
    COMPLAINT,
    FORWARDED,
    IGNORED,
    LEFT_UNREAD,
    UNPROVEN,
    UNPROVEN_COMPLAINT,
    WARNING,
)
from newsletter.store.schema import inbox_events, ledger

__all__ = [
    "BOUNCE",
    "COMPLAINT",
    "FORWARDED",
    "IGNORED",
    "LEFT_UNREAD",
    "UNPROVEN",
    "UNPROVEN_COMPLAINT",
    "WARNING",
]


def seen(conn: Connection, message_key: str) -> bool:
    """Whether a message with this key was already handled."""
    query = select(inbox_events.c.id).where(inbox_events.c.message_key == message_key)
    return conn.execute(query).first() is not None


def record(
    conn: Connection,
    message_key: str,
    kind: str,
    *,
    subscriber_id: int | None,
    detail: dict[str, Any] | None,
    now: dt.datetime,
) -> int:
    """Record one handled incoming message (or send-time refusal) under its key; returns
    the event's id."""
    result = conn.execute(
        insert(inbox_events).values(
            message_key=message_key[:400],
            kind=kind,
            subscriber_id=subscriber_id,
            detail=json.dumps(detail) if detail is not None else None,
            created_at=now,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def get(
    conn: Connection, event_id: int
) -> tuple[str, int | None, dict[str, Any], dt.datetime] | None:
    """(kind, subscriber_id, detail, created_at) of one event."""
    row = conn.execute(select(inbox_events).where(inbox_events.c.id == event_id)).mappings().first()
    if row is None:
        return None
    detail = json.loads(row["detail"]) if row["detail"] else {}
    return row["kind"], row["subscriber_id"], detail, row["created_at"]


BOUNCE_SCORED = "bounce-score"  # one row per bounce counted (inbox or send loop)


def last_bounce_at(conn: Connection, subscriber_id: int) -> dt.datetime | None:
    """When a bounce last counted for this subscriber ("bounce": rows from before scoring rows)."""
    query = (
        select(inbox_events.c.created_at)
        .where(
            inbox_events.c.subscriber_id == subscriber_id,
            inbox_events.c.kind.in_(["bounce", BOUNCE_SCORED]),
        )
        .order_by(inbox_events.c.created_at.desc())
        .limit(1)
    )
    found: dt.datetime | None = conn.execute(query).scalar()
    return found


SEND_REFUSED = "send-refusal"  # a hard refusal of a subscriber's address at send time


def record_refusal(
    conn: Connection,
    subscriber_id: int,
    code: int | None,
    stage: str | None,
    text: str,
    now: dt.datetime,
) -> None:
    """Remember a hard refusal of the address at send time (``refusal_days`` reads them)."""
    record(
        conn,
        f"{SEND_REFUSED}:{subscriber_id}:{uuid.uuid4().hex}",
        SEND_REFUSED,
        subscriber_id=subscriber_id,
        detail={"code": code, "stage": stage, "text": text[:500]},
        now=now,
    )


def refusal_days(conn: Connection, subscriber_id: int, since: dt.datetime) -> set[dt.date]:
    """The (UTC) days on which the address was refused at send time, since ``since``."""
    query = select(inbox_events.c.created_at).where(
        inbox_events.c.subscriber_id == subscriber_id,
        inbox_events.c.kind == SEND_REFUSED,
        inbox_events.c.created_at >= since,
    )
    return {when.astimezone(dt.UTC).date() for when in conn.execute(query).scalars()}


def counts(conn: Connection, since: dt.datetime) -> dict[str, int]:
    """Incoming messages handled since ``since``, by kind."""
    rows = conn.execute(select(inbox_events.c.kind).where(inbox_events.c.created_at >= since))
    tally: dict[str, int] = {}
    for (kind,) in rows:
        tally[kind] = tally.get(kind, 0) + 1
    return tally


def was_sent(conn: Connection, subscriber_id: int, message_ids: Collection[str]) -> bool:
    """Whether the ledger recorded one of ``message_ids`` as sent to this subscriber."""
    if not message_ids:
        return False
    query = select(ledger.c.id).where(
        ledger.c.subscriber_id == subscriber_id, ledger.c.message_id.in_(list(message_ids))
    )
    return conn.execute(query.limit(1)).first() is not None


def note_unverified_reply(
    conn: Connection, address: str, message_key: str, now: dt.datetime
) -> None:
    """Remember that a reply went to ``address`` for a message we could not verify."""
    digest = hashlib.sha256(message_key.encode()).hexdigest()[:24]
    record(
        conn,
        f"reply-to:{address.lower()}:{digest}",
        "unverified-reply",
        subscriber_id=None,
        detail=None,
        now=now,
    )


def replied_since(conn: Connection, address: str, since: dt.datetime) -> bool:
    """Whether an unverified message already got ``address`` a reply at or after ``since``."""
    query = select(inbox_events.c.id).where(
        inbox_events.c.kind == "unverified-reply",
        inbox_events.c.message_key.startswith(f"reply-to:{address.lower()}:", autoescape=True),
        inbox_events.c.created_at >= since,
    )
    return conn.execute(query.limit(1)).first() is not None


def forget(conn: Connection, subscriber_id: int, address: str) -> None:
    """Delete a removed subscriber's events, and the reply throttle kept for their address."""
    conn.execute(
        delete(inbox_events).where(
            or_(
                inbox_events.c.subscriber_id == subscriber_id,
                inbox_events.c.message_key.startswith(
                    f"reply-to:{address.lower()}:", autoescape=True
                ),
            )
        )
    )


def sent_to(conn: Connection, message_ids: Collection[str]) -> int | None:
    """The subscriber the ledger recorded one of ``message_ids`` as sent to (None: none)."""
    if not message_ids:
        return None
    query = select(ledger.c.subscriber_id).where(ledger.c.message_id.in_(list(message_ids)))
    found: int | None = conn.execute(query.limit(1)).scalar()
    return found


def recent(
    conn: Connection, kinds: Collection[str], since: dt.datetime
) -> list[tuple[str, int | None, dict[str, Any], dt.datetime]]:
    """Events of these ``kinds`` at or after ``since``, newest first: (kind, subscriber_id,
    detail, created_at)."""
    query = (
        select(inbox_events)
        .where(inbox_events.c.kind.in_(list(kinds)), inbox_events.c.created_at >= since)
        .order_by(inbox_events.c.created_at.desc(), inbox_events.c.id.desc())
    )
    return [
        (
            row["kind"],
            row["subscriber_id"],
            json.loads(row["detail"]) if row["detail"] else {},
            row["created_at"],
        )
        for row in conn.execute(query).mappings()
    ]
