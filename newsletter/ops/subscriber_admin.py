"""The operator's hand on one reader: unsubscribe, pause, resume, reactivate, and ``show``.

Each change is one function taking a connection, the address and ``now``; it returns a
``Change`` saying what happened, or raises ``NotFoundError`` (no such address) or
``InputError`` (the change does not apply to the reader's status). Which change applies:

============  ===================================  ==========================================
action        from                                 to
============  ===================================  ==========================================
unsubscribe   pending, active, paused, bounced     unsubscribed (no more email)
pause         active, paused                       paused, until a date or until ``resume``
resume        paused                               active
reactivate    unsubscribed, bounced, pending       active, bounce score back to 0
============  ===================================  ==========================================

A change to the status a reader already has is a no-op (``Change.changed`` false).
Every change is kept in the reader's history with ``by="operator"``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection

from newsletter.errors import InputError
from newsletter.models import Subscriber, SubscriberStatus
from newsletter.store import subscriber_history, subscribers

BY = "operator"


@dataclass(frozen=True, slots=True)
class Change:
    """``email`` went from ``old`` to ``new`` (equal when nothing changed)."""

    email: str
    old: SubscriberStatus
    new: SubscriberStatus
    paused_until: dt.date | None = None

    @property
    def changed(self) -> bool:
        return self.old != self.new


def _refuse(sub: Subscriber, action: str, hint: str) -> InputError:
    return InputError(
        "email", sub.email, f"cannot {action} {sub.email}: the status is {sub.status}; {hint}"
    )


def unsubscribe(conn: Connection, email: str, *, now: dt.datetime) -> Change:
    """Stop every email to ``email``, keeping its history (``subscribers remove`` deletes)."""
    sub = subscribers.require_by_email(conn, email)
    if sub.status != "unsubscribed":
        subscribers.set_status(conn, sub.id, "unsubscribed", now=now, by=BY)
    return Change(sub.email, sub.status, "unsubscribed")


def pause(
    conn: Connection, email: str, *, now: dt.datetime, until: dt.date | None = None
) -> Change:
    """Pause ``email`` until ``until`` (a date after today's UTC date; the first edition on
    or after it is sent) or, without one, until ``resume``."""
    sub = subscribers.require_by_email(conn, email)
    if sub.status not in ("active", "paused"):
        raise _refuse(sub, "pause", "only an active reader can be paused")
    if until is not None and until <= now.date():
        raise InputError("--until", until, f"{until.isoformat()} is not after today")
    subscribers.update_fields(conn, sub.id, now=now, by=BY, status="paused", paused_until=until)
    return Change(sub.email, sub.status, "paused", until)


def resume(conn: Connection, email: str, *, now: dt.datetime) -> Change:
    """End a pause: ``email`` gets the next edition."""
    sub = subscribers.require_by_email(conn, email)
    if sub.status == "active":
        return Change(sub.email, "active", "active")
    if sub.status != "paused":
        raise _refuse(sub, "resume", "use `newsletter subscribers reactivate` if they asked again")
    subscribers.set_status(conn, sub.id, "active", now=now, by=BY)
    return Change(sub.email, "paused", "active")


def reactivate(conn: Connection, email: str, *, now: dt.datetime) -> Change:
    """Make an unsubscribed, bounced or unconfirmed reader active again, with a bounce score
    of 0 (the operator vouches: they asked again, or their mailbox works again)."""
    sub = subscribers.require_by_email(conn, email)
    if sub.status == "active":
        return Change(sub.email, "active", "active")
    if sub.status == "paused":
        raise _refuse(sub, "reactivate", "use `newsletter subscribers resume`")
    subscribers.set_status(conn, sub.id, "active", now=now, by=BY)
    subscribers.update_fields(conn, sub.id, now=now, bounce_score=0.0)
    return Change(sub.email, sub.status, "active")


@dataclass(frozen=True, slots=True)
class Report:
    """Everything ``subscribers show`` prints about one reader, newest first in each list."""

    subscriber: Subscriber
    bounce_score: float
    confirmed_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None
    history: list[subscriber_history.StatusChange] = field(default_factory=list)
    messages: list[subscriber_history.MessageRecord] = field(default_factory=list)
    bounces: list[subscriber_history.BounceRecord] = field(default_factory=list)
    feedback: list[subscriber_history.FeedbackRecord] = field(default_factory=list)


def report(conn: Connection, email: str, *, limit: int = 10) -> Report:
    """The reader's profile, status history, last ``limit`` messages with their SMTP replies,
    bounces with reasons and feedback; ``NotFoundError`` for an unknown address."""
    sub = subscribers.require_by_email(conn, email)
    extra = subscribers.bookkeeping(conn, sub.id)
    return Report(
        subscriber=sub,
        bounce_score=float(extra["bounce_score"] or 0.0),
        confirmed_at=extra["confirmed_at"],
        unsubscribed_at=extra["unsubscribed_at"],
        history=subscriber_history.status_changes(conn, sub.id, limit * 2),
        messages=subscriber_history.messages(conn, sub.id, limit),
        bounces=subscriber_history.bounces(conn, sub.id, limit),
        feedback=subscriber_history.feedback_given(conn, sub.id, limit),
    )
