"""A fake arXiv: RSS feeds and the API (see ``tests.support.upstreams``)."""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tests.support.clock import FakeClock
from tests.support.http import Reply, StubServer
from tests.support.needs import fixtures_dir

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


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


class FakeArxiv(StubServer):
    """The HTTP stub answering arXiv's RSS feeds and API as arXiv does."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.route("/", self.answer)
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

    def answer(self, path: str, query: dict[str, str], now: dt.datetime | None) -> Reply:
        assert now is not None
        if path.startswith("/rss/"):
            return Reply(200, self.feed(now), {"Content-Type": "application/rss+xml"})
        if path == "/api/query":
            status, body = self.query(query, now)
            return Reply(status, body, {"Content-Type": "application/atom+xml"})
        return Reply(404, b"not found", {"Content-Type": "text/plain"})

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

    def query(self, query: dict[str, str], now: dt.datetime) -> tuple[int, bytes]:
        if self.error_400 is not None:
            return 400, atom_error(self.error_400)
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
        return 200, atom_feed([p.api_entry for p in page], len(matching), start, size)


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
