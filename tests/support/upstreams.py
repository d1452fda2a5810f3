"""Fake Hugging Face and arXiv servers on 127.0.0.1 that behave like the real upstreams.

Both are the one HTTP stub (``tests.support.http.StubServer``) with a route; real captured items from
``../shared/fixtures/real`` (given fresh ids), and the test's clock: what a server answers
depends on ``clock.now``, so one test can ask at 07:15 in Tokyo and at 23:30 in New York
without touching the process clock. Every request is recorded with its arrival time and
the time its answer started (``time.monotonic()``), so that tests can assert spacing.

``FakeHF`` serves ``/api/daily_papers?date=YYYY-MM-DD[&limit=N][&p=K]``: the items of that
UTC day submitted so far (``submittedOnDailyAt`` not after now: a day fills up while it
lasts), oldest first, page K (0-based) of ``limit`` items (default 50, at most 100; more
is a 400, as the Hub validates it). ``cap`` plays a server that silently gives fewer per
page than ``limit`` asked.

``FakeArxiv`` serves
- ``/rss/<categories>``: the feed dated by the latest weekday that has begun in New York
  (rebuilt at midnight New York time, not at weekends: ``skipDays``), ``rebuild_delay``
  later when a test wants a late feed; the ``new`` items announced that day; an empty
  feed on a holiday;
- ``/api/query``: ``submittedDate:[FROM TO]`` in ``search_query`` selects papers by
  submission time (UTC, to the minute, both ends included), once announced (20:00 New York
  time the evening before their day); ``start`` and ``max_results`` page through
  ``totalResults``; ``empty_answers`` plays arXiv's flaky empty page; ``error_400`` answers
  an Atom error entry with HTTP 400, as arXiv does for a bad query.

``fail(prefix, until=..., status=...)`` makes either server answer an error (an outage
until a moment of the test's clock, or for good).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.clock import FakeClock
from tests.support.fake_arxiv import FakeArxiv
from tests.support.fake_hf import FakeHF

UTC = dt.UTC


# Fixtures, registered for every test by tests/conftest.py.

TUESDAY_MORNING = dt.datetime(2026, 12, 1, 7, 15, tzinfo=UTC)


@pytest.fixture
def upstream_clock() -> FakeClock:
    """The fakes' clock, Tuesday 1 December 2026 07:15 UTC unless the test moves it."""
    return FakeClock(TUESDAY_MORNING)


@pytest.fixture
def fake_hf(upstream_clock: FakeClock, real_fixtures: Path) -> Iterator[FakeHF]:
    with FakeHF(upstream_clock).running() as server:
        assert isinstance(server, FakeHF)
        yield server


@pytest.fixture
def fake_arxiv(upstream_clock: FakeClock, real_fixtures: Path) -> Iterator[FakeArxiv]:
    with FakeArxiv(upstream_clock).running() as server:
        assert isinstance(server, FakeArxiv)
        yield server
