"""What happened to one subscriber: status changes, messages, bounces, feedback (read-only,
except ``record_status_change``).

Status changes are kept as ``inbox_events`` rows of kind ``status`` (``STATUS_CHANGED``),
next to the bounce and refusal rows of the same reader, so ``subscribers remove`` forgets
them all at once (``newsletter.store.inbox.forget``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from newsletter.store import inbox as events
from newsletter.store.schema import editions, feedback, inbox_events, ledger

STATUS_CHANGED = "status"
BOUNCE_KINDS = (
    events.BOUNCE,
    events.UNPROVEN,
    events.WARNING,
    events.COMPLAINT,
    events.UNPROVEN_COMPLAINT,
    events.BOUNCE_SCORED,
    events.SEND_REFUSED,
)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """``old`` → ``new`` at ``at``; ``by`` says who (``operator``, ``bounces``, or "")."""

    at: dt.datetime
    old: str
    new: str
    by: str = ""
    paused_until: str | None = None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One ledger row: the edition's date, its state, attempts and the last SMTP reply
    (``last_code`` an RFC 5321 reply code, ``last_text`` its text)."""

    edition_date: dt.date
    state: str
    attempts: int
    sent_at: dt.datetime | None
    last_code: int | None
    last_text: str | None


@dataclass(frozen=True, slots=True)
class BounceRecord:
    """A report about the reader's mail: ``kind`` is an inbox event (``bounce``,
    ``bounce-unproven``, ``warning``: a DSN, RFC 3464; ``complaint``: an abuse report,
    RFC 5965), ``bounce-score`` (one bounce counted) or ``send-refusal`` (refused at
    RCPT/DATA); ``reason`` is the status code and text as far as they are known."""

    at: dt.datetime
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """A paper the reader rated: ``signal`` +1 (more like this) or -1 (less)."""

    at: dt.datetime
    arxiv_id: str
    signal: int


def record_status_change(
    conn: Connection,
    subscriber_id: int,
    old: str,
    new: str,
    *,
    now: dt.datetime,
    by: str = "",
    paused_until: dt.date | None = None,
) -> None:
    """Keep one status change (called by ``newsletter.store.subscribers`` on every change)."""
    detail: dict[str, Any] = {"from": old, "to": new, "by": by}
    if paused_until is not None:
        detail["until"] = paused_until.isoformat()
    events.record(
        conn,
        f"{STATUS_CHANGED}:{subscriber_id}:{uuid.uuid4().hex}",
        STATUS_CHANGED,
        subscriber_id=subscriber_id,
        detail=detail,
        now=now,
    )


def _events(conn: Connection, subscriber_id: int, kinds: tuple[str, ...], limit: int) -> list[Any]:
    query = (
        select(inbox_events.c.kind, inbox_events.c.detail, inbox_events.c.created_at)
        .where(inbox_events.c.subscriber_id == subscriber_id, inbox_events.c.kind.in_(kinds))
        .order_by(inbox_events.c.created_at.desc(), inbox_events.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(query).all())


def status_changes(conn: Connection, subscriber_id: int, limit: int = 20) -> list[StatusChange]:
    """The last ``limit`` status changes, newest first."""
    found = []
    for _, detail, at in _events(conn, subscriber_id, (STATUS_CHANGED,), limit):
        data = json.loads(detail or "{}")
        found.append(
            StatusChange(
                at,
                str(data.get("from", "")),
                str(data.get("to", "")),
                str(data.get("by", "")),
                data.get("until"),
            )
        )
    return found


def messages(conn: Connection, subscriber_id: int, limit: int = 10) -> list[MessageRecord]:
    """The last ``limit`` messages (ledger rows), newest edition first."""
    query = (
        select(
            editions.c.date,
            ledger.c.state,
            ledger.c.attempts,
            ledger.c.sent_at,
            ledger.c.last_code,
            ledger.c.last_text,
        )
        .join(editions, editions.c.id == ledger.c.edition_id)
        .where(ledger.c.subscriber_id == subscriber_id)
        .order_by(editions.c.date.desc())
        .limit(limit)
    )
    return [MessageRecord(*row) for row in conn.execute(query).all()]


def _reason(kind: str, data: dict[str, Any]) -> str:
    if kind == events.SEND_REFUSED:
        return " ".join(str(p) for p in (data.get("code"), data.get("text", "")) if p)
    if kind == events.BOUNCE_SCORED:
        return f"{data.get('kind', '')} bounce counted, score {data.get('score', 0):g}"
    if kind in (events.COMPLAINT, events.UNPROVEN_COMPLAINT):
        return f"feedback type {data.get('feedback_type') or 'abuse'}"
    if "bounces" in data:  # rows written before the one classifier (issue 15)
        return "; ".join(f"{status} ({hard})" for _, status, hard in data["bounces"])
    parts = [str(data.get(k)) for k in ("kind", "status", "reason") if data.get(k)]
    return " ".join(parts)


def bounces(conn: Connection, subscriber_id: int, limit: int = 10) -> list[BounceRecord]:
    """The last ``limit`` bounces, counted bounces and send-time refusals, newest first."""
    return [
        BounceRecord(at, kind, _reason(kind, json.loads(detail or "{}")))
        for kind, detail, at in _events(conn, subscriber_id, BOUNCE_KINDS, limit)
    ]


def feedback_given(conn: Connection, subscriber_id: int, limit: int = 10) -> list[FeedbackRecord]:
    """The last ``limit`` ratings, newest first."""
    query = (
        select(feedback.c.created_at, feedback.c.arxiv_id, feedback.c.signal)
        .where(feedback.c.subscriber_id == subscriber_id)
        .order_by(feedback.c.created_at.desc(), feedback.c.id.desc())
        .limit(limit)
    )
    return [FeedbackRecord(*row) for row in conn.execute(query).all()]
