"""Fake Hugging Face and arXiv servers on 127.0.0.1 that behave like the real upstreams.

Real HTTP (a ``ThreadingHTTPServer`` in a thread), real captured items from
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

import copy
import datetime as dt
import email.utils
import functools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import fixtures_dir

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


class Clock:
    """The test's "now": an aware datetime the test sets and moves."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, now: dt.datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Hit:
    path: str
    query: dict[str, str]
    at: dt.datetime  # the test clock's "now" when it came
    arrived: float = 0.0
    answered: float = 0.0
    status: int = 0


@dataclass
class Outage:
    prefix: str
    until: dt.datetime | None
    status: int
    where: Callable[[dict[str, str]], bool] | None = None


class FakeUpstream:
    """The HTTP plumbing shared by both fakes: answers come from ``answer``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.hits: list[Hit] = []
        self.outages: list[Outage] = []
        self.lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                hit = Hit(parts.path, query, upstream.clock(), time.monotonic())
                with upstream.lock:
                    upstream.hits.append(hit)
                    status, kind, body = upstream._answer(parts.path, query)
                hit.status = status
                hit.answered = time.monotonic()  # before a byte goes out
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[FakeUpstream]:
        thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join(timeout=5)

    def fail(
        self,
        prefix: str,
        *,
        until: dt.datetime | None = None,
        status: int = 503,
        where: Callable[[dict[str, str]], bool] | None = None,
    ) -> None:
        """Answer ``status`` to requests under ``prefix`` (while now < ``until``)."""
        with self.lock:
            self.outages.append(Outage(prefix, until, status, where))

    def requests(self, prefix: str = "/") -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.path.startswith(prefix)]

    def _answer(self, path: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        now = self.clock()
        for outage in self.outages:
            if (
                path.startswith(outage.prefix)
                and (outage.until is None or now < outage.until)
                and (outage.where is None or outage.where(query))
            ):
                return outage.status, "text/plain", b"upstream unavailable"
        return self.answer(path, query, now)

    def answer(self, path: str, query: dict[str, str], now: dt.datetime) -> tuple[int, str, bytes]:
        raise NotImplementedError


# --- Hugging Face ----------------------------------------------------------------------


@functools.cache
def hf_templates() -> tuple[dict[str, Any], ...]:
    """Every item of every captured HF day (103 real items)."""
    items: list[dict[str, Any]] = []
    for path in sorted(fixtures_dir().glob("hf_daily_papers_*.json")):
        items += json.loads(path.read_bytes())
    return tuple(items)


def hf_id(day: dt.date, n: int) -> str:
    """A fresh arXiv-style id for the n-th HF item of ``day`` (never an arXiv fake's id)."""
    return f"{day:%y%m}.{50000 + day.day * 1000 + n:05d}"


class FakeHF(FakeUpstream):
    DEFAULT_LIMIT = 50
    MAX_LIMIT = 100

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.days: dict[dt.date, list[tuple[dt.datetime, dict[str, Any]]]] = {}
        self.cap: int | None = None  # serve at most this many per page, whatever limit says

    def add_day(self, day: dt.date, count: int, *, upvotes: int = 0) -> list[str]:
        """``count`` real items for UTC ``day``, submitted evenly across it; their ids."""
        templates = hf_templates()
        items = []
        for n in range(count):
            item = copy.deepcopy(templates[(day.toordinal() * 7 + n) % len(templates)])
            item["paper"]["id"] = hf_id(day, n)
            item["paper"]["upvotes"] = upvotes + count - n
            submitted = dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(
                seconds=(n + 1) * 86400 // (count + 1)
            )
            stamp = submitted.isoformat().replace("+00:00", ".000Z")
            item["paper"]["submittedOnDailyAt"] = stamp
            items.append((submitted, item))
        with self.lock:
            self.days[day] = items
        return [item["paper"]["id"] for _, item in items]

    def answer(self, path: str, query: dict[str, str], now: dt.datetime) -> tuple[int, str, bytes]:
        if path != "/api/daily_papers":
            return 404, "application/json", b'{"error":"not found"}'
        try:
            day = dt.date.fromisoformat(query["date"])
            limit = int(query.get("limit", self.DEFAULT_LIMIT))
            page = int(query.get("p", 0))
        except (KeyError, ValueError):
            return 400, "application/json", b'{"error":"invalid query"}'
        if not 1 <= limit <= self.MAX_LIMIT or page < 0:
            return 400, "application/json", b'{"error":"limit must be 1-100, p >= 0"}'
        visible = [item for submitted, item in self.days.get(day, []) if submitted <= now]
        return (
            200,
            "application/json",
            json.dumps(visible[page * limit : (page + 1) * limit]).encode(),
        )


# --- arXiv -----------------------------------------------------------------------------


@functools.cache
def _rss_fixture() -> str:
    return (fixtures_dir() / "arxiv_rss_stat_2024-03-26.xml").read_text()


@functools.cache
def rss_templates() -> tuple[tuple[str, str], ...]:
    """(arXiv id, item XML) of the real feed's 62 ``new`` and ``cross`` items."""
    found = []
    for block in re.findall(r"<item>.*?</item>", _rss_fixture(), re.S):
        kind = re.search(r"<arxiv:announce_type>(\S+)</arxiv:announce_type>", block)
        ident = re.search(r"<link>https://arxiv.org/abs/(\S+)</link>", block)
        if kind and ident and kind.group(1) in ("new", "cross"):
            found.append((ident.group(1), block))
    return tuple(found)


@functools.cache
def api_templates() -> tuple[tuple[str, str], ...]:
    """(arXiv id with version, entry XML) of two real API answers' 20 entries."""
    found = []
    for name in (
        "arxiv_api_query_all-Einstein_2018-02-05.xml",
        "arxiv_api_query_au-del_maestro_2016-10-09.xml",
    ):
        text = (fixtures_dir() / name).read_text()
        for block in re.findall(r"<entry>.*?</entry>", text, re.S):
            ident = re.search(r"<id>http://arxiv.org/abs/(\S+)</id>", block)
            assert ident is not None
            found.append((ident.group(1), block))
    return tuple(found)


def rfc2822(moment: dt.datetime) -> str:
    return email.utils.format_datetime(moment)


def feed_dated(
    raw: bytes | str, day: dt.date, *, built_after: dt.timedelta = dt.timedelta(seconds=3)
) -> bytes:
    """A captured arXiv feed as arXiv would serve it on ``day``: ``pubDate`` at 00:00 New
    York time that day, ``lastBuildDate`` just after, in UTC (as in the capture)."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    midnight = dt.datetime.combine(day, dt.time(), NEW_YORK)
    text = re.sub(
        r"<pubDate>[^<]*</pubDate>", f"<pubDate>{rfc2822(midnight)}</pubDate>", text, count=1
    )
    built = (midnight + built_after).astimezone(UTC)
    text = re.sub(
        r"<lastBuildDate>[^<]*</lastBuildDate>",
        f"<lastBuildDate>{rfc2822(built).replace('-0000', '+0000')}</lastBuildDate>",
        text,
        count=1,
    )
    return text.encode()


@dataclass
class ArxivPaper:
    arxiv_id: str
    day: dt.date  # the announcement day that lists it
    submitted: dt.datetime  # UTC
    rss_item: str
    api_entry: str


def arxiv_id(day: dt.date, n: int) -> str:
    return f"{day:%y%m}.{day.day * 1000 + n:05d}"


class FakeArxiv(FakeUpstream):
    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.rebuild_delay = dt.timedelta(0)  # how late the feed dated A comes out
        self.holidays: set[dt.date] = set()  # weekdays without an announcement
        self.empty_answers = 0  # the next N API answers hold no entry (totalResults kept)
        self.error_400: str | None = None  # answer every API query with this error entry
        self.papers: list[ArxivPaper] = []

    def announce(self, day: dt.date, count: int) -> list[str]:
        """``count`` papers announced on ``day`` (RSS new items; API entries submitted
        before that announcement's 14:00 New York cutoff); their ids."""
        cutoff_day = day - dt.timedelta(days=1)
        while cutoff_day.weekday() >= 5:
            cutoff_day -= dt.timedelta(days=1)
        cutoff = dt.datetime.combine(cutoff_day, dt.time(13, 59), NEW_YORK).astimezone(UTC)
        rss, api = rss_templates(), api_templates()
        ids = []
        for n in range(count):
            ident = arxiv_id(day, n)
            old_rss, item = rss[(day.toordinal() + n) % len(rss)]
            old_api, entry = api[(day.toordinal() + n) % len(api)]
            item = item.replace(old_rss, ident).replace(
                "Announce Type: cross", "Announce Type: new"
            )
            item = item.replace(">cross</arxiv:announce_type>", ">new</arxiv:announce_type>")
            entry = entry.replace(old_api, ident + "v1")
            submitted = cutoff - dt.timedelta(minutes=7 * n)
            stamp = submitted.strftime("%Y-%m-%dT%H:%M:%SZ")
            entry = re.sub(
                r"<published>[^<]*</published>", f"<published>{stamp}</published>", entry
            )
            self.papers.append(ArxivPaper(ident, day, submitted, item, entry))
            ids.append(ident)
        return ids

    def feed_day(self, now: dt.datetime) -> dt.date:
        day = (now - self.rebuild_delay).astimezone(NEW_YORK).date()
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        return day

    def answer(self, path: str, query: dict[str, str], now: dt.datetime) -> tuple[int, str, bytes]:
        if path.startswith("/rss/"):
            return 200, "application/rss+xml", self.feed(now)
        if path == "/api/query":
            return self.query(query, now)
        return 404, "text/plain", b"not found"

    def feed(self, now: dt.datetime) -> bytes:
        day = self.feed_day(now)
        items = (
            ""
            if day in self.holidays
            else "\n    ".join(p.rss_item for p in self.papers if p.day == day)
        )
        head, _, _ = _rss_fixture().partition("<item>")
        text = head.rstrip() + "\n    " + items + "\n  </channel>\n</rss>\n"
        return feed_dated(text, day, built_after=self.rebuild_delay + dt.timedelta(seconds=3))

    def query(self, query: dict[str, str], now: dt.datetime) -> tuple[int, str, bytes]:
        if self.error_400 is not None:
            return 400, "application/atom+xml", atom_error(self.error_400)
        window = re.search(r"submittedDate:\[(\d{12}) TO (\d{12})\]", query.get("search_query", ""))
        start, size = int(query.get("start", 0)), int(query.get("max_results", 10))
        matching = []
        for paper in self.papers:
            announced = dt.datetime.combine(paper.day - dt.timedelta(days=1), dt.time(20), NEW_YORK)
            minute = paper.submitted.strftime("%Y%m%d%H%M")
            if announced <= now and (
                window is None or window.group(1) <= minute <= window.group(2)
            ):
                matching.append(paper)
        matching.sort(key=lambda p: p.submitted, reverse=True)
        page = matching[start : start + size]
        if self.empty_answers > 0:
            self.empty_answers -= 1
            page = []
        return (
            200,
            "application/atom+xml",
            atom_feed([p.api_entry for p in page], len(matching), start, size),
        )


ATOM_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query</title>
  <id>http://arxiv.org/api/fake</id>
  <updated>2026-01-01T00:00:00-05:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{start}</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{size}</opensearch:itemsPerPage>
"""


def atom_feed(entries: list[str], total: int, start: int, size: int) -> bytes:
    head = ATOM_HEAD.format(total=total, start=start, size=size)
    return (head + "  " + "\n  ".join(entries) + "\n</feed>\n").encode()


def atom_error(reason: str) -> bytes:
    """arXiv's answer to a bad query: a feed whose one entry is the error (with HTTP 400)."""
    anchor = re.sub(r"\W+", "_", reason)
    entry = f"""<entry>
    <id>http://arxiv.org/api/errors#{anchor}</id>
    <title>Error</title>
    <summary>{reason}</summary>
    <updated>2026-01-01T00:00:00-05:00</updated>
    <link href="http://arxiv.org/api/errors#{anchor}" rel="alternate" type="text/html"/>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>"""
    return atom_feed([entry], 1, 0, 1)


# --- fixtures (registered for every test by tests/conftest.py) ------------------------

TUESDAY_MORNING = dt.datetime(2026, 12, 1, 7, 15, tzinfo=UTC)


@pytest.fixture
def upstream_clock() -> Clock:
    """The fakes' clock, Tuesday 1 December 2026 07:15 UTC unless the test moves it."""
    return Clock(TUESDAY_MORNING)


@pytest.fixture
def fake_hf(upstream_clock: Clock, real_fixtures: Path) -> Iterator[FakeHF]:
    with FakeHF(upstream_clock).running() as server:
        assert isinstance(server, FakeHF)
        yield server


@pytest.fixture
def fake_arxiv(upstream_clock: Clock, real_fixtures: Path) -> Iterator[FakeArxiv]:
    with FakeArxiv(upstream_clock).running() as server:
        assert isinstance(server, FakeArxiv)
        yield server
