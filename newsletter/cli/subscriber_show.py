"""``newsletter subscribers show EMAIL`` as text or JSON (``subscriber_admin.Report``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from newsletter.ops.subscriber_admin import Report
from newsletter.ops.subscribers_csv import show_list
from newsletter.text import local_time
from newsletter.text import one_line as _flat  # stored text comes from outside: one line


def as_text(found: Report, timezone: str = "UTC") -> str:
    """Sections: the profile, then status history, messages, bounces, feedback; times in
    ``timezone`` (TIMEZONE), as ``status`` shows them."""

    def _when(value: dt.datetime | None) -> str:
        return local_time(value, timezone) if value else "-"

    sub = found.subscriber
    profile = sub.profile
    status: str = sub.status
    if status == "paused":
        status += f" until {sub.paused_until.isoformat()}" if sub.paused_until else " (no end date)"
    lines = [
        f"{sub.email}" + (f" ({_flat(sub.name)})" if sub.name else ""),
        f"  status:       {status}",
        f"  frequency:    {sub.frequency}",
        f"  added:        {_when(sub.created_at)}",
        f"  confirmed:    {_when(found.confirmed_at)}",
    ]
    if found.unsubscribed_at:
        lines.append(f"  unsubscribed: {_when(found.unsubscribed_at)}")
    lines.append(f"  bounce score: {found.bounce_score:g}")
    for label, terms in (
        ("topics", profile.topics),
        ("categories", profile.categories),
        ("authors", profile.authors),
        ("exclude", profile.exclude),
    ):
        lines.append(f"  {label + ':':<13} {_flat(show_list(terms)) or '-'}")
    lines.append("Status history:")
    lines += [
        f"  {_when(c.at)}  {c.old} -> {c.new}"
        + (f" until {c.paused_until}" if c.paused_until else "")
        + (f" (by {c.by})" if c.by else "")
        for c in found.history
    ] or ["  no changes since added"]
    lines.append("Messages (newest first):")
    lines += [
        f"  {m.edition_date.isoformat()}  {m.state:<8} attempts {m.attempts}"
        + (f", sent {_when(m.sent_at)}" if m.sent_at else "")
        + (
            f"; last reply: {m.last_code or ''} {_flat(m.last_text or '')}".rstrip()
            if m.last_code or m.last_text
            else ""
        )
        for m in found.messages
    ] or ["  none yet"]
    lines.append("Bounces:")
    lines += [f"  {_when(b.at)}  {b.kind}: {_flat(b.reason) or '-'}" for b in found.bounces] or [
        "  none"
    ]
    lines.append("Feedback:")
    lines += [
        f"  {_when(f.at)}  {'+1' if f.signal > 0 else '-1'} {_flat(f.arxiv_id)}"
        for f in found.feedback
    ] or ["  none"]
    return "\n".join(lines) + "\n"


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


def as_json(found: Report) -> dict[str, Any]:
    """The same, for scripts: times as ISO 8601 UTC."""
    sub = found.subscriber
    return {
        "email": sub.email,
        "name": sub.name,
        "status": sub.status,
        "paused_until": _iso(sub.paused_until),
        "frequency": sub.frequency,
        "created_at": _iso(sub.created_at),
        "confirmed_at": _iso(found.confirmed_at),
        "unsubscribed_at": _iso(found.unsubscribed_at),
        "bounce_score": found.bounce_score,
        "topics": list(sub.profile.topics),
        "categories": list(sub.profile.categories),
        "authors": list(sub.profile.authors),
        "exclude": list(sub.profile.exclude),
        "history": [
            {"at": _iso(c.at), "from": c.old, "to": c.new, "by": c.by, "until": c.paused_until}
            for c in found.history
        ],
        "messages": [
            {
                "edition": _iso(m.edition_date),
                "state": m.state,
                "attempts": m.attempts,
                "sent_at": _iso(m.sent_at),
                "last_code": m.last_code,
                "last_text": m.last_text,
            }
            for m in found.messages
        ],
        "bounces": [{"at": _iso(b.at), "kind": b.kind, "reason": b.reason} for b in found.bounces],
        "feedback": [
            {"at": _iso(f.at), "arxiv_id": f.arxiv_id, "signal": f.signal} for f in found.feedback
        ],
    }
