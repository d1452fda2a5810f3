"""When a digest goes out: the send-day policy and arXiv's announcement calendar. Pure.

arXiv announces new submissions Monday to Friday (Sunday to Thursday evenings, US
Eastern); its feeds are empty on Saturday and Sunday, and Hugging Face Daily Papers
follows the same rhythm. ``SCHEDULE`` narrows the days further:

- ``daily``: every announcement day;
- ``weekdays``: Monday to Friday, even for sources without a calendar (``sample``);
- ``weekly``: one digest a week, on ``WEEKLY_DAY`` (moved to the next announcement
  day when that day has none, so that a weekly digest on "sat" still goes out).

Subscribers whose own frequency is "weekly" get their digest on the day
``is_weekly_due`` says, whatever the list-wide schedule.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from newsletter.config import Settings

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Sources whose feeds follow arXiv's Monday-to-Friday announcement calendar.
CALENDAR_SOURCES = frozenset({"hf_daily", "arxiv_rss", "arxiv_api"})
_LOOKAHEAD_DAYS = 14


class Decision(NamedTuple):
    """Whether to send on a date, and a sentence saying why (for logs, status and alerts)."""

    send: bool
    reason: str


def day_label(date: dt.date) -> str:
    return f"{date:%A} {date.isoformat()}"


def follows_arxiv_calendar(settings: Settings) -> bool:
    """True when any configured source announces only on arXiv's days."""
    return any(spec.name in CALENDAR_SOURCES for spec in settings.source_specs)


def is_announcement_day(date: dt.date, settings: Settings) -> bool:
    """False on Saturday and Sunday when a source follows arXiv's calendar."""
    return date.weekday() < 5 or not follows_arxiv_calendar(settings)


def is_weekly_due(date: dt.date, settings: Settings) -> bool:
    """True on the day weekly digests go out: ``WEEKLY_DAY``, or the first announcement day
    after it when ``WEEKLY_DAY`` itself has no announcements."""
    target = WEEKDAY_NAMES.index(settings.weekly_day)
    if not is_announcement_day(date, settings):
        return False
    # Walk back over the days without announcements just before ``date`` (plus ``date``).
    day = date
    while True:
        if day.weekday() == target:
            return True
        day -= dt.timedelta(days=1)
        if is_announcement_day(day, settings) or (date - day).days >= 7:
            return False


def should_send(date: dt.date, settings: Settings) -> Decision:
    """Whether a digest is due on ``date`` under SCHEDULE and the sources' calendar."""
    label = day_label(date)
    blocker = _blocker(date, settings)
    if blocker is None:
        return Decision(True, f"{label}: digest due (SCHEDULE={settings.schedule})")
    upcoming = day_label(next_send_date(date, settings))
    return Decision(False, f"{label}: {blocker}; next digest {upcoming}")


def next_send_date(after: dt.date, settings: Settings) -> dt.date:
    """The first date after ``after`` on which ``should_send`` says yes."""
    for offset in range(1, _LOOKAHEAD_DAYS + 1):
        day = after + dt.timedelta(days=offset)
        if _blocker(day, settings) is None:
            return day
    raise AssertionError("no send day within two weeks: the schedule policy is inconsistent")


def _blocker(date: dt.date, settings: Settings) -> str | None:
    """Why no digest goes out on ``date``, or None when one is due."""
    if not is_announcement_day(date, settings):
        return "arXiv makes no announcements on weekends"
    if settings.schedule == "weekdays" and date.weekday() >= 5:
        return "SCHEDULE=weekdays sends Monday to Friday"
    if settings.schedule == "weekly" and not is_weekly_due(date, settings):
        return f"SCHEDULE=weekly sends on {settings.weekly_day}"
    return None
