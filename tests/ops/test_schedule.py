"""The send-day policy against the real calendar (dates checked with ``date.weekday``)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from newsletter.config import Settings
from newsletter.schedule import (
    WEEKDAY_NAMES,
    is_announcement_day,
    is_weekly_due,
    next_send_date,
    should_send,
)

ARXIV = "hf_daily,arxiv_rss:cs.LG"
START = dt.date(2026, 11, 23)  # a Monday
FOUR_WEEKS = [START + dt.timedelta(days=i) for i in range(28)]


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_the_weekend_before_start_leads_to_start_a_monday() -> None:
    # START is the first digest day after a weekend, by the production calendar: both
    # weekend days point to it, and the reason names it Monday.
    config = settings(sources=ARXIV, schedule="daily")
    for weekend_day in (START - dt.timedelta(days=2), START - dt.timedelta(days=1)):
        assert next_send_date(weekend_day, config) == START
        assert f"next digest Monday {START.isoformat()}" in should_send(weekend_day, config).reason


def test_daily_with_arxiv_sources_skips_weekends_and_says_why() -> None:
    config = settings(sources=ARXIV, schedule="daily")
    for day in FOUR_WEEKS:
        decision = should_send(day, config)
        assert decision.send is (day.weekday() < 5), day
        if not decision.send:
            assert "no announcements on weekends" in decision.reason
            assert day.isoformat() in decision.reason


def test_reason_names_the_next_digest_day() -> None:
    config = settings(sources=ARXIV)
    saturday = dt.date(2026, 11, 28)
    assert saturday.weekday() == 5
    send, reason = should_send(saturday, config)
    assert not send
    monday = saturday + dt.timedelta(days=2)
    assert next_send_date(saturday, config) == monday
    assert f"next digest Monday {monday.isoformat()}" in reason


def test_source_without_calendar_sends_every_day_on_daily() -> None:
    config = settings(sources="sample", schedule="daily")
    assert all(should_send(day, config).send for day in FOUR_WEEKS)
    assert all(is_announcement_day(day, config) for day in FOUR_WEEKS)


def test_weekdays_schedule_skips_weekends_even_without_calendar() -> None:
    config = settings(sources="sample", schedule="weekdays")
    for day in FOUR_WEEKS:
        decision = should_send(day, config)
        assert decision.send is (day.weekday() < 5)
        if not decision.send:
            assert "SCHEDULE=weekdays" in decision.reason


@pytest.mark.parametrize("sources", [ARXIV, "sample"])
@pytest.mark.parametrize("weekly_day", WEEKDAY_NAMES)
def test_weekly_digest_goes_out_exactly_once_a_week(sources: str, weekly_day: str) -> None:
    config = settings(sources=sources, schedule="weekly", weekly_day=weekly_day)
    due = [day for day in FOUR_WEEKS if should_send(day, config).send]
    assert len(due) == 4
    assert [b - a for a, b in itertools.pairwise(due)] == [dt.timedelta(days=7)] * 3
    assert due == [day for day in FOUR_WEEKS if is_weekly_due(day, config)]
    target = WEEKDAY_NAMES.index(weekly_day)
    if sources == "sample" or target < 5:
        assert all(day.weekday() == target for day in due)
    else:
        # Saturday or Sunday has no announcements: the digest moves to Monday.
        assert all(day.weekday() == 0 for day in due)


def test_weekly_reason_names_the_day() -> None:
    config = settings(sources=ARXIV, schedule="weekly", weekly_day="wed")
    tuesday = dt.date(2026, 11, 24)
    send, reason = should_send(tuesday, config)
    assert not send
    assert "SCHEDULE=weekly sends on wed" in reason
    assert "next digest Wednesday 2026-11-25" in reason


def test_weekly_subscribers_due_on_weekly_day_under_daily_schedule() -> None:
    config = settings(sources=ARXIV, schedule="daily", weekly_day="fri")
    due = [day for day in FOUR_WEEKS if is_weekly_due(day, config)]
    assert [day.weekday() for day in due] == [4, 4, 4, 4]
