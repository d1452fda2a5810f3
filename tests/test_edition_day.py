"""The definition of the day (``newsletter.edition_day``), checked against the calendar.

Dates are checked with ``date.weekday()`` and offsets with ``zoneinfo``; DST weeks are
the US changes of 2026 (8 March and 1 November).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from newsletter import edition_day as day

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
MON = dt.date(2026, 11, 30)  # a Monday, winter time (EST, UTC-5)
SUMMER_TUE = dt.date(2026, 8, 18)  # a Tuesday, summer time (EDT, UTC-4)


def at(year: int, month: int, d: int, hour: int, minute: int = 0, zone: str = "UTC") -> dt.datetime:
    return dt.datetime(year, month, d, hour, minute, tzinfo=ZoneInfo(zone))


def test_dates_used_here_are_the_weekdays_they_claim() -> None:
    assert MON.weekday() == 0 and SUMMER_TUE.weekday() == 1
    assert dt.date(2026, 3, 8).weekday() == 6 and dt.date(2026, 11, 1).weekday() == 6


def test_announcement_days_are_monday_to_friday() -> None:
    week = [MON + dt.timedelta(days=i) for i in range(7)]
    assert [day.is_announcement_day(d) for d in week] == [True] * 5 + [False] * 2
    assert day.previous_announcement_day(MON) == dt.date(2026, 11, 27)
    assert day.next_announcement_day(dt.date(2026, 11, 27)) == MON
    assert day.next_announcement_day(dt.date(2026, 11, 28)) == MON
    assert day.previous_announcement_day(MON + dt.timedelta(days=1)) == MON


def test_hf_days_tuesday_is_monday_and_monday_is_the_weekend() -> None:
    assert day.hf_days(MON + dt.timedelta(days=1)) == (MON,)
    assert day.hf_days(MON) == (dt.date(2026, 11, 27), dt.date(2026, 11, 28), dt.date(2026, 11, 29))
    with pytest.raises(ValueError, match="not an arXiv announcement day"):
        day.hf_days(dt.date(2026, 11, 28))


def test_every_hf_day_lands_in_exactly_one_edition() -> None:
    start = dt.date(2026, 2, 2)
    editions = [start + dt.timedelta(days=i) for i in range(120)]
    editions = [a for a in editions if day.is_announcement_day(a)]
    covered = [d for a in editions for d in day.hf_days(a)]
    assert len(covered) == len(set(covered))
    assert covered == [covered[0] + dt.timedelta(days=i) for i in range(len(covered))]
    for a in editions:
        for d in day.hf_days(a):
            assert day.edition_of_hf_day(d) == a


def test_complete_at_is_midnight_in_new_york_with_its_dst() -> None:
    assert day.complete_at(MON) == at(2026, 11, 30, 5)  # EST
    assert day.complete_at(SUMMER_TUE) == at(2026, 8, 18, 4)  # EDT
    # The DST change weeks: the instant moves by an hour across the change.
    assert day.complete_at(dt.date(2026, 3, 6)) == at(2026, 3, 6, 5)
    assert day.complete_at(dt.date(2026, 3, 9)) == at(2026, 3, 9, 4)
    assert day.complete_at(dt.date(2026, 10, 30)) == at(2026, 10, 30, 4)
    assert day.complete_at(dt.date(2026, 11, 2)) == at(2026, 11, 2, 5)
    for offset in range(400):
        a = dt.date(2026, 1, 1) + dt.timedelta(days=offset)
        if not day.is_announcement_day(a):
            continue
        done = day.complete_at(a)
        assert done.tzinfo is not None and done.utcoffset() == dt.timedelta(0)
        assert done.astimezone(NEW_YORK).date() == a  # the feed dated A is out
        last_hf = day.hf_days(a)[-1]
        end_of_last_hf_day = dt.datetime.combine(last_hf + dt.timedelta(days=1), dt.time(), UTC)
        assert done >= end_of_last_hf_day  # and the last HF list has ended in UTC


def test_latest_complete_around_the_instant() -> None:
    done = day.complete_at(MON)
    assert day.latest_complete(done) == MON
    assert day.latest_complete(done - dt.timedelta(microseconds=1)) == dt.date(2026, 11, 27)
    # All weekend long Friday's edition is the latest complete one.
    assert day.latest_complete(at(2026, 11, 28, 12)) == dt.date(2026, 11, 27)
    assert day.latest_complete(at(2026, 11, 29, 23, 59)) == dt.date(2026, 11, 27)
    with pytest.raises(ValueError, match="aware"):
        day.latest_complete(dt.datetime(2026, 11, 30, 12))


def test_worked_examples_of_the_readme() -> None:
    # Tokyo, Tuesday 07:15: Monday 22:15 UTC, 17:15 in New York: today's feed is not out.
    assert day.latest_complete(at(2026, 12, 1, 7, 15, "Asia/Tokyo")) == MON
    # New York, Tuesday 23:30: Wednesday's announcement came out at 20:00, but its feed is
    # rebuilt at midnight: Tuesday's edition.
    assert day.latest_complete(at(2026, 12, 1, 23, 30, "America/New_York")) == dt.date(2026, 12, 1)
    # Tokyo, Monday 07:15 is still Sunday in UTC: Friday's edition.
    assert day.latest_complete(at(2026, 11, 30, 7, 15, "Asia/Tokyo")) == dt.date(2026, 11, 27)


ZONES = {"UTC": "UTC", "UTC+9": "Asia/Tokyo", "UTC-5": "America/Bogota"}


@pytest.mark.parametrize("zone", ZONES.values(), ids=ZONES.keys())
@pytest.mark.parametrize("clock", [(7, 15), (23, 30)], ids=["07:15", "23:30"])
@pytest.mark.parametrize("first", [dt.date(2026, 3, 2), dt.date(2026, 10, 26)], ids=["mar", "oct"])
def test_a_daily_cron_anywhere_makes_every_edition_and_never_a_day_in_progress(
    zone: str, clock: tuple[int, int], first: dt.date
) -> None:
    """Three weeks around a DST change, one cron firing a day at local ``clock``."""
    local = ZoneInfo(zone)
    firings = [
        dt.datetime.combine(first + dt.timedelta(days=i), dt.time(*clock), local) for i in range(21)
    ]
    chosen = []
    for now in firings:
        a = day.latest_complete(now)
        # No HF day of the edition is still in progress in UTC ...
        last_hf = day.hf_days(a)[-1]
        assert dt.datetime.combine(last_hf + dt.timedelta(days=1), dt.time(), UTC) <= now
        # ... and the arXiv feed live at that moment is the one dated A (RSS has no archive).
        assert day.complete_at(a) <= now < day.complete_at(day.next_announcement_day(a))
        chosen.append(a)
    wanted = {
        a
        for a in (first + dt.timedelta(days=i) for i in range(1, 20))
        if day.is_announcement_day(a)
    }
    assert wanted <= set(chosen)  # every edition in between is made by some firing


def test_submission_window_follows_the_14h_cutoff() -> None:
    tue = MON + dt.timedelta(days=1)
    # Monday's announcement: submitted Thursday 14:00 to Friday 14:00 New York time.
    assert day.submission_window(MON) == (
        at(2026, 11, 26, 14, zone="America/New_York"),
        at(2026, 11, 27, 14, zone="America/New_York"),
    )
    # Tuesday's: Friday 14:00 to Monday 14:00 (the weekend's submissions).
    assert day.submission_window(tue) == (
        at(2026, 11, 27, 14, zone="America/New_York"),
        at(2026, 11, 30, 14, zone="America/New_York"),
    )
    start, end = day.submission_window(dt.date(2026, 3, 10))  # across the March change
    assert (start, end) == (at(2026, 3, 6, 19), at(2026, 3, 9, 18))
    for offset in range(60):
        a = MON + dt.timedelta(days=offset)
        if day.is_announcement_day(a):
            assert (
                day.submission_window(a)[1]
                == day.submission_window(day.next_announcement_day(a))[0]
            )


def test_describe_names_the_announcement_and_the_hf_lists() -> None:
    assert day.describe(MON) == (
        "arXiv announcement of Mon 30 Nov + HF lists of Fri 27 Nov, Sat 28 Nov and Sun 29 Nov UTC"
    )
    assert day.describe(MON + dt.timedelta(days=1)) == (
        "arXiv announcement of Tue 1 Dec + HF list of Mon 30 Nov UTC"
    )
    assert day.describe(MON, hf=False) == "arXiv announcement of Mon 30 Nov"


def test_refusal_of_a_weekend_and_of_an_edition_not_complete_yet() -> None:
    saturday = dt.date(2026, 11, 28)
    assert day.refusal(saturday, at(2026, 12, 5, 12)) == (
        "Sat 28 Nov 2026 is not an arXiv announcement day (editions are named by the"
        " announcement days, Monday to Friday); the HF list of Sat 28 Nov is in the edition"
        " of Mon 30 Nov"
    )
    early = at(2026, 11, 30, 4, 59)
    assert day.refusal(MON, early) == (
        "the edition of Mon 30 Nov 2026 is not complete before 2026-11-30 05:00 UTC"
        " (arXiv announcement of Mon 30 Nov + HF lists of Fri 27 Nov, Sat 28 Nov and"
        " Sun 29 Nov UTC)"
    )
    assert day.refusal(MON, day.complete_at(MON)) is None
