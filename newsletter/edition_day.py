"""What an edition holds, and when its data is complete: the definition of the day. Pure.

An edition is named by arXiv's announcement day A, a weekday (Monday to Friday) on
arXiv's own clock, America/New_York with its daylight-saving time:

- arXiv announces Sunday to Thursday at 20:00 New York time; the RSS feed dated A is
  rebuilt at 00:00 New York time on A (the feed's ``pubDate``), and is not rebuilt on
  Saturday and Sunday (``skipDays``). Submissions received before 14:00 New York time
  on a weekday are announced that evening (https://info.arxiv.org/help/availability.html).
- Hugging Face Daily Papers keeps one list per UTC day, filled during that day. Edition
  A holds the lists of the UTC days from the previous announcement day up to the day
  before A: Tuesday's edition holds Monday's list, Monday's holds Friday's, Saturday's
  and Sunday's. Every HF day lands in exactly one edition.
- Edition A is complete when the feed dated A is out (A 00:00 New York time) and its
  last HF day has ended in UTC (A 00:00 UTC, always the earlier of the two).

Weekday holidays are not listed here: a holiday is detected from the sources (every
arXiv source answered and announced nothing), never from a calendar that could be wrong.
Every function takes its dates and ``now`` as values; instants are aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

ARXIV_ZONE = ZoneInfo("America/New_York")
FEED_REBUILT = dt.time(0, 0)  # the RSS feed dated A appears at 00:00 New York time on A
SUBMISSION_CUTOFF = dt.time(14, 0)  # received before 14:00 New York time: announced that evening
_WEEK = 7


def is_announcement_day(day: dt.date) -> bool:
    """True for Monday to Friday: the days an arXiv feed is dated."""
    return day.weekday() < 5


def previous_announcement_day(day: dt.date) -> dt.date:
    """The last announcement day strictly before ``day``."""
    before = day - dt.timedelta(days=1)
    while not is_announcement_day(before):
        before -= dt.timedelta(days=1)
    return before


def next_announcement_day(day: dt.date) -> dt.date:
    """The first announcement day strictly after ``day``."""
    after = day + dt.timedelta(days=1)
    while not is_announcement_day(after):
        after += dt.timedelta(days=1)
    return after


def _require_announcement_day(day: dt.date) -> None:
    if not is_announcement_day(day):
        raise ValueError(f"{day} is not an arXiv announcement day")


def hf_days(edition: dt.date) -> tuple[dt.date, ...]:
    """The UTC days whose Hugging Face lists edition ``edition`` holds, oldest first.

    Raises ``ValueError`` for a Saturday or Sunday.
    """
    _require_announcement_day(edition)
    first = previous_announcement_day(edition)
    return tuple(first + dt.timedelta(days=i) for i in range((edition - first).days))


def edition_of_hf_day(day: dt.date) -> dt.date:
    """The edition that holds the HF list of UTC day ``day``."""
    return next_announcement_day(day)


def _utc(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, time, zone).astimezone(dt.UTC)


def complete_at(edition: dt.date) -> dt.datetime:
    """The instant (UTC) from which every upstream day of ``edition`` is final."""
    _require_announcement_day(edition)
    feed_out = _utc(edition, FEED_REBUILT, ARXIV_ZONE)
    last_hf_day_over = _utc(edition, dt.time(), ZoneInfo("UTC"))
    return max(feed_out, last_hf_day_over)


def _require_aware(now: dt.datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")


def latest_complete(now: dt.datetime) -> dt.date:
    """The latest edition whose data is complete at ``now`` (an aware datetime)."""
    _require_aware(now)
    candidate = now.astimezone(ARXIV_ZONE).date() + dt.timedelta(days=1)
    for _ in range(_WEEK + 2):
        if is_announcement_day(candidate) and complete_at(candidate) <= now:
            return candidate
        candidate -= dt.timedelta(days=1)
    raise AssertionError("no complete edition within a week")  # pragma: no cover


def next_to_complete(now: dt.datetime) -> dt.date:
    """The first edition that is not complete yet at ``now``."""
    return next_announcement_day(latest_complete(now))


def submission_window(edition: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the submissions arXiv announces on ``edition``.

    The regular schedule: from 14:00 New York time on the weekday before the previous
    cutoff up to 14:00 on the weekday before A (Monday's announcement: Thursday 14:00 to
    Friday 14:00). Holidays shift arXiv's schedule and a paper held in moderation is
    announced later than its submission: callers that need those widen the window.
    """
    _require_announcement_day(edition)
    cutoff_day = previous_announcement_day(edition)
    start_day = previous_announcement_day(cutoff_day)
    return (
        _utc(start_day, SUBMISSION_CUTOFF, ARXIV_ZONE),
        _utc(cutoff_day, SUBMISSION_CUTOFF, ARXIV_ZONE),
    )


def short(day: dt.date) -> str:
    """``Mon 30 Nov``."""
    return f"{day:%a} {day.day} {day:%b}"


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def describe(edition: dt.date, *, hf: bool = True) -> str:
    """``arXiv announcement of Tue 1 Dec + HF list of Mon 30 Nov UTC``."""
    text = f"arXiv announcement of {short(edition)}"
    if not hf:
        return text
    days = [short(d) for d in hf_days(edition)]
    return f"{text} + HF list{'s' if len(days) > 1 else ''} of {_joined(days)} UTC"


def refusal(edition: dt.date, now: dt.datetime, *, hf: bool = True) -> str | None:
    """Why edition ``edition`` cannot be made at ``now`` (one line), or None when it can."""
    _require_aware(now)
    if not is_announcement_day(edition):
        return (
            f"{short(edition)} {edition.year} is not an arXiv announcement day (editions are"
            " named by the announcement days, Monday to Friday); the HF list of"
            f" {short(edition)} is in the edition of {short(edition_of_hf_day(edition))}"
        )
    ready = complete_at(edition)
    if now < ready:
        return (
            f"the edition of {short(edition)} {edition.year} is not complete before"
            f" {ready:%Y-%m-%d %H:%M} UTC ({describe(edition, hf=hf)})"
        )
    return None
