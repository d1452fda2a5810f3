"""When a digest goes out: the send-day policy and arXiv's announcement calendar. Pure.

Editions are named by arXiv's announcement days, Monday to Friday on arXiv's clock
(``newsletter.edition_day`` defines what an edition holds and when it is complete);
the edition a run makes by default is the latest complete one. With only sources that
follow no calendar (``sample``), every day of ``TIMEZONE`` is a day. ``SCHEDULE``
narrows the days further:

- ``daily``: every announcement day;
- ``weekdays``: Monday to Friday, even for sources without a calendar (``sample``);
- ``weekly``: one digest a week, on ``WEEKLY_DAY`` (moved to the next announcement
  day when that day has none, so that a weekly digest on "sat" still goes out).

Subscribers whose own frequency is "weekly" get their digest on the day
``is_weekly_due`` says, whatever the list-wide schedule.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING, NamedTuple

from newsletter import edition_day

if TYPE_CHECKING:  # either: `status` reads its settings without pydantic
    from newsletter.config import Settings
    from newsletter.status_settings import StatusSettings

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Sources whose feeds follow arXiv's Monday-to-Friday announcement calendar.
CALENDAR_SOURCES = frozenset({"hf_daily", "arxiv_rss", "arxiv_api"})
_LOOKAHEAD_DAYS = 14


class Decision(NamedTuple):
    """Whether to send on a date, and a sentence saying why (for logs, status and alerts)."""

    send: bool
    reason: str


def day_label(date: dt.date) -> str:
    """``Mon 3 Mar`` for log lines and notices."""
    return f"{date:%A} {date.isoformat()}"


def follows_arxiv_calendar(settings: Settings | StatusSettings) -> bool:
    """True when any configured source announces only on arXiv's days."""
    return any(spec.name in CALENDAR_SOURCES for spec in settings.source_specs)


def is_announcement_day(date: dt.date, settings: Settings | StatusSettings) -> bool:
    """False on Saturday and Sunday when a source follows arXiv's calendar."""
    return edition_day.is_announcement_day(date) or not follows_arxiv_calendar(settings)


def _local_today(now: dt.datetime, settings: Settings | StatusSettings) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(settings.timezone)).date()


def default_edition(now: dt.datetime, settings: Settings | StatusSettings) -> dt.date:
    """The edition ``newsletter run`` makes without ``--date``: the latest complete one
    (``edition_day.latest_complete``), or today in TIMEZONE for calendar-free sources."""
    if follows_arxiv_calendar(settings):
        return edition_day.latest_complete(now)
    return _local_today(now, settings)


def has_hf(settings: Settings | StatusSettings) -> bool:
    """Whether Hugging Face Daily Papers is among the configured sources."""
    return any(spec.name == "hf_daily" for spec in settings.source_specs)


def refusal(date: dt.date, now: dt.datetime, settings: Settings | StatusSettings) -> str | None:
    """Why edition ``date`` cannot be made at ``now`` (one line), or None."""
    if follows_arxiv_calendar(settings):
        return edition_day.refusal(date, now, hf=has_hf(settings))
    if date > _local_today(now, settings):
        return f"{date} is still to come in {settings.timezone}"
    return None


def complete_at(date: dt.date, settings: Settings | StatusSettings) -> dt.datetime:
    """When the data of edition ``date`` is complete (UTC): ``edition_day.complete_at``, or
    the start of that day in TIMEZONE for calendar-free sources."""
    if follows_arxiv_calendar(settings):
        return edition_day.complete_at(date)
    zone = zoneinfo.ZoneInfo(settings.timezone)
    return dt.datetime.combine(date, dt.time(), zone).astimezone(dt.UTC)


def wait_deadline(date: dt.date, settings: Settings | StatusSettings) -> dt.datetime:
    """Until when a run waits for a failing source (``MISSING_SOURCE_POLICY=wait``)."""
    return complete_at(date, settings) + dt.timedelta(hours=settings.missing_source_wait_hours)


def is_weekly_due(date: dt.date, settings: Settings | StatusSettings) -> bool:
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


def should_send(date: dt.date, settings: Settings | StatusSettings) -> Decision:
    """Whether a digest is due on ``date`` under SCHEDULE and the sources' calendar."""
    label = day_label(date)
    blocker = _blocker(date, settings)
    if blocker is None:
        return Decision(True, f"{label}: digest due (SCHEDULE={settings.schedule})")
    upcoming = day_label(next_send_date(date, settings))
    return Decision(False, f"{label}: {blocker}; next digest {upcoming}")


def next_send_date(after: dt.date, settings: Settings | StatusSettings) -> dt.date:
    """The first date after ``after`` on which ``should_send`` says yes."""
    for offset in range(1, _LOOKAHEAD_DAYS + 1):
        day = after + dt.timedelta(days=offset)
        if _blocker(day, settings) is None:
            return day
    raise AssertionError("no send day within two weeks: the schedule policy is inconsistent")


def _blocker(date: dt.date, settings: Settings | StatusSettings) -> str | None:
    """Why no digest goes out on ``date``, or None when one is due."""
    if not is_announcement_day(date, settings):
        return "arXiv makes no announcements on weekends"
    if settings.schedule == "weekdays" and date.weekday() >= 5:
        return "SCHEDULE=weekdays sends Monday to Friday"
    if settings.schedule == "weekly" and not is_weekly_due(date, settings):
        return f"SCHEDULE=weekly sends on {settings.weekly_day}"
    return None
