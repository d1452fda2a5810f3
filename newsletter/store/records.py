"""Plain records the store's readers return, with no database library imported.

``newsletter status`` reads SQLite with the standard ``sqlite3`` module
(``newsletter.store.status_sqlite``) and every other database through SQLAlchemy
(``newsletter.store.status_alchemy``); both hand back these records, so the status
snapshot is built by one piece of code whichever reader filled it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

# Event kinds the inbox records (newsletter.inbox.handle), one row per message read.
BOUNCE, UNPROVEN, WARNING = "bounce", "bounce-unproven", "warning"
COMPLAINT, UNPROVEN_COMPLAINT = "complaint", "complaint-unproven"
IGNORED, FORWARDED, LEFT_UNREAD = "ignored", "forwarded", "left-unread"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One recorded run: command, edition date, start and end (UTC), outcome and summary."""

    id: int
    command: str
    edition_date: dt.date | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str | None
    summary: str | None
    counts: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One source's health: whether its last attempt worked, when it last tried and last
    succeeded, its last error and paper count."""

    source: str
    ok: bool
    last_attempt_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_error: str | None
    last_count: int | None


@dataclass(frozen=True, slots=True)
class ProblemRow:
    """A ``failed`` or ``unknown`` message: whose, of which edition, and the last reply
    (``last_code``: the SMTP reply code, None when none came; ``last_text``: its text or
    why the sender gave up)."""

    edition_date: dt.date
    email: str
    state: str
    attempts: int
    updated_at: dt.datetime
    last_code: int | None
    last_text: str | None


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A subscriber set to ``bounced`` at ``since``; ``reason``: the last reply or bounce."""

    email: str
    status: str
    since: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class EditionSummary:
    """What ``status`` shows of a frozen edition: id, date, how many papers, the sources
    it was collected from and those it went out without (source, error)."""

    id: int
    date: dt.date
    papers: int
    sources: tuple[str, ...]
    missing: tuple[tuple[str, str], ...]


class Person(NamedTuple):
    """A subscriber's address and status (what ``status`` names readers by)."""

    email: str
    status: str


class Refusal(NamedTuple):
    """A subscriber's last failed message with an SMTP reply: code, text, when."""

    last_code: int
    last_text: str | None
    updated_at: dt.datetime


class BounceEvent(NamedTuple):
    """A subscriber's last ``bounce`` event read from the reply mailbox: detail, when."""

    detail: str | None
    created_at: dt.datetime


def suppression_reason(refused: Refusal | None, bounce: BounceEvent | None) -> str:
    """Why a reader was suppressed: the later of their last refusal and last bounce, else
    "bounce score over the threshold"."""
    if bounce is not None and (refused is None or bounce.created_at > refused.updated_at):
        return "bounce: " + bounce_text(bounce.detail)
    if refused is not None:
        return f"refused: {refused.last_code} {refused.last_text or ''}".rstrip()
    return "bounce score over the threshold"


def bounce_text(detail: str | None) -> str:
    """What an inbox ``bounce`` event says: its status, reason and kind (``report_detail``
    of ``newsletter.inbox.handle``), or the older ``{"bounces": [[rcpt, status, kind]]}``."""
    try:
        found: Any = json.loads(detail or "{}")
        if found.get("status") or found.get("reason"):
            text = f"{found.get('status') or ''} {found.get('reason') or ''}".strip()
            return text + (f" ({found['kind']})" if found.get("kind") else "")
        older = found.get("bounces") or []
        return ", ".join(f"{status} ({kind})" for _, status, kind in older) or "delivery report"
    except (ValueError, TypeError, AttributeError):
        return "delivery report"
