"""What the reply mailbox says that needs a look, as ``status`` problem lines. Read-only.

- Complaints (RFC 5965 feedback reports): the reader was unsubscribed; one line names them.
- Complaints and failure reports that name a current subscriber but prove nothing (no VERP
  token, no Message-ID we sent): they were not counted. Without VERP, a relay that
  rewrites Message-IDs (Amazon SES does) makes every bounce unproven, so the line says how
  to turn VERP on.

Each looks back ``WINDOW`` (the events are in ``inbox_events``, written by
``newsletter.inbox.handle``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from newsletter.store.records import COMPLAINT, UNPROVEN_COMPLAINT, Person
from newsletter.store.records import UNPROVEN as UNPROVEN_BOUNCE
from newsletter.words import noun, plural

if TYPE_CHECKING:
    from newsletter.config import Settings
    from newsletter.ops.status import StatusReads
    from newsletter.status_settings import StatusSettings

WINDOW = dt.timedelta(days=7)
CURRENT = ("active", "paused", "pending")


def problems(db: StatusReads, settings: Settings | StatusSettings, now: dt.datetime) -> list[str]:
    """Problem lines for ``status`` (empty when there is nothing to look at)."""
    since = now - WINDOW
    found = db.inbox_events((COMPLAINT, UNPROVEN_COMPLAINT, UNPROVEN_BOUNCE), since)
    who = db.people(sorted({sid for _, sid, _, _ in found if sid is not None}))
    lines: list[str] = []
    complaints = [(sid, detail) for kind, sid, detail, _ in found if kind == COMPLAINT]
    if complaints:
        names = _names(who, [sid for sid, _ in complaints])
        lines.append(
            f"{plural(len(complaints), 'complaint')} (RFC 5965) in the last {WINDOW.days}"
            f" days, {noun(len(complaints), 'reader')} unsubscribed: {names}"
        )
    unproven = [
        (kind, sid, detail)
        for kind, sid, detail, _ in found
        if kind != COMPLAINT and sid in who and who[sid].status in CURRENT
    ]
    if unproven:
        lines.append(_unproven_line(unproven, who, settings))
    return lines


def _unproven_line(
    unproven: Sequence[tuple[str, int | None, dict[str, Any]]],
    who: dict[int, Person],
    settings: Settings | StatusSettings,
) -> str:
    first_kind, _, first = unproven[0]
    about = (
        f"{first.get('status') or ''} {first.get('reason') or ''}".strip()
        if first_kind == UNPROVEN_BOUNCE
        else f"complaint {first.get('feedback_type') or ''}".strip()
    )
    names = _names(who, [sid for _, sid, _ in unproven])
    if settings.uses_verp:
        hint = (
            "VERP is on: check that bounces come back to the reply mailbox's plus-address"
            " (the relay must keep the envelope sender) and that `newsletter doctor` passes"
        )
    else:
        hint = (
            "turn VERP on (NEWSLETTER_VERP=true, or leave it unset with NEWSLETTER_IMAP_HOST)"
            " so every bounce names its reader"
        )
    return (
        f"{plural(len(unproven), 'bounce or complaint', 'bounces and complaints')} in the"
        f" last {WINDOW.days} days named current subscribers but proved nothing, so none"
        f" counted ({names}; first: {about}):"
        f" {hint}"
    )


def _names(who: dict[int, Person], ids: Sequence[int | None]) -> str:
    shown = list(dict.fromkeys(who[sid].email for sid in ids if sid in who))
    more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
    return ", ".join(shown[:5]) + more if shown else "(removed since)"
