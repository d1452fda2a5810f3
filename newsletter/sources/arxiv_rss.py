"""arXiv RSS 2.0 (``rss.arxiv.org/rss/cs.LG+cs.CL``): one announcement, via feedparser.

Only announce types ``new`` and ``cross`` are kept: ``replace`` / ``replace-cross`` are
revisions of papers announced before. Items carry no date of their own; the channel's
``pubDate`` (the announcement day) is used as ``published``.

The feed holds the latest announcement only (no archive): it is rebuilt at 00:00 New
York time with ``pubDate`` that midnight, and not at weekends. ``fetch`` checks that the
channel's ``pubDate`` and ``lastBuildDate`` belong to the announcement the run expects
(``freshness``); a feed still serving the day before, or one that has moved on, is a
source failure naming both dates, never an empty day.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import io
import logging
import re
from dataclasses import dataclass
from typing import Any

import feedparser

from newsletter.config import Settings
from newsletter.edition_day import ARXIV_ZONE, complete_at, next_announcement_day, short
from newsletter.errors import ParseError, SourceError
from newsletter.models import Paper
from newsletter.sources import http
from newsletter.sources.base import FetchContext, Fetched
from newsletter.sources.normalize import arxiv_id, categories, collapse
from newsletter.text import one_line

logger = logging.getLogger(__name__)

NAME = "arxiv_rss"
KEPT_TYPES = ("new", "cross")
_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:)?\s*", re.IGNORECASE)
# feedparser sets bozo for these while still having parsed the document correctly.
_BENIGN = (feedparser.CharacterEncodingOverride,)


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed: its papers and the channel's dates as written and as UTC instants."""

    papers: list[Paper]
    published: dt.datetime | None = None
    built: dt.datetime | None = None
    published_text: str = ""


def parse(raw: bytes | str) -> list[Paper]:
    """The papers of one arXiv RSS feed; ``ParseError`` when it is not one."""
    return parse_feed(raw).papers


def parse_feed(raw: bytes | str) -> Feed:
    """One arXiv RSS feed: its papers and the announcement date it states."""
    # arXiv's <description> is plain text escaped once: feedparser's HTML sanitizer would
    # eat "$x<y$" as a tag, so it is turned off; render escapes everything anyway.
    # A stream, never a str/bytes: feedparser would fetch a URL-looking string or read a
    # file whose name the bytes happen to spell.
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    feed = feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)
    if feed.get("bozo") and not isinstance(feed.get("bozo_exception"), _BENIGN):
        raise ParseError(NAME, f"malformed XML: {one_line(feed.get('bozo_exception'))}")
    if not str(feed.get("version", "")).startswith("rss"):
        raise ParseError(NAME, "not an RSS feed")
    published = _struct_utc(feed.feed.get("published_parsed"))
    built = _struct_utc(feed.feed.get("updated_parsed"))
    papers: list[Paper] = []
    dropped: dict[str, int] = {}
    for entry in feed.entries:
        kind = collapse(entry.get("arxiv_announce_type")).lower()
        if kind not in KEPT_TYPES:
            dropped[kind or "unknown"] = dropped.get(kind or "unknown", 0) + 1
            continue
        paper = _paper(entry, kind, published or built)
        if paper is None:
            logger.warning("%s: skipped an item without an arXiv id or title", NAME)
            continue
        papers.append(paper)
    logger.debug("%s: kept %d items, dropped %s", NAME, len(papers), dropped)
    return Feed(papers, published, built, collapse(feed.feed.get("published")))


def freshness(feed: Feed, edition: dt.date) -> str | None:
    """Why ``feed`` is not the announcement of ``edition`` (one line), or None when it is.

    ``pubDate`` must fall on ``edition`` in New York; ``lastBuildDate`` no earlier than its
    00:00 (and, when there is no ``pubDate``, before the next announcement's).
    """
    expected = f"the announcement of {short(edition)} {edition.year}"
    if feed.published is None and feed.built is None:
        return f"the feed has no pubDate or lastBuildDate: cannot tell whether it holds {expected}"
    opens, closes = complete_at(edition), complete_at(next_announcement_day(edition))
    holds = feed.published or feed.built
    assert holds is not None
    fresh = (
        feed.published.astimezone(ARXIV_ZONE).date() == edition
        if feed.published is not None
        else opens <= holds < closes
    )
    if fresh and (feed.built is None or feed.built >= opens):
        return None
    day = holds.astimezone(ARXIV_ZONE).date()
    if fresh:
        return (
            f"the feed's dates disagree: pubDate {feed.published_text} but lastBuildDate"
            f" {feed.built:%Y-%m-%d %H:%M} UTC, before {expected} came out"
        )
    dates = ", ".join(
        part
        for part in (
            f"pubDate {feed.published_text}" if feed.published is not None else "",
            f"lastBuildDate {feed.built:%Y-%m-%d %H:%M} UTC" if feed.built is not None else "",
        )
        if part
    )
    if day > edition:
        return (
            f"the feed has moved on to the announcement of {short(day)} {day.year} ({dates});"
            f" {expected} is no longer in it (arXiv RSS keeps no archive)"
        )
    return (
        f"stale feed: it holds the announcement of {short(day)} {day.year} ({dates});"
        f" expected {expected}"
    )


def _paper(entry: Any, kind: str, published: dt.datetime | None) -> Paper | None:
    ident = arxiv_id(entry.get("id", "")) or arxiv_id(entry.get("link", ""))
    title = collapse(entry.get("title"))
    if ident is None or not title:
        return None
    creators = entry.get("author") or ""
    return Paper(
        arxiv_id=ident,
        title=title,
        abstract=collapse(_PREFIX.sub("", entry.get("summary") or "", count=1)),
        authors=tuple(name for name in (collapse(n) for n in creators.split(",")) if name),
        categories=categories([tag.get("term") or "" for tag in entry.get("tags", [])]),
        published=published,
        announce_type=kind,
        sources=(NAME,),
    )


def _struct_utc(value: Any) -> dt.datetime | None:
    """feedparser's ``*_parsed`` (a UTC ``struct_time``) as an aware datetime."""
    if value is None:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(value), tz=dt.UTC)


def feed_url(settings: Settings, spec_argument: str) -> str:
    """``arxiv_rss_url`` + the argument, e.g. ``https://rss.arxiv.org/rss/cs.LG+cs.CL``."""
    base = (
        settings.arxiv_rss_url
        if settings.arxiv_rss_url.endswith("/")
        else settings.arxiv_rss_url + "/"
    )
    return base + spec_argument.strip().strip("/")


async def fetch(context: FetchContext, spec_argument: str, edition: dt.date) -> Fetched:
    """The feed's papers, once its dates show it holds the announcement of ``edition``."""
    source = f"{NAME}:{spec_argument}"
    settings = context.settings
    raw = await http.get(
        context.client,
        feed_url(settings, spec_argument),
        source=source,
        retries=settings.http_retries,
        timeout=settings.http_timeout,
        user_agent=settings.user_agent,
        pacer=context.pacer,
    )
    try:
        feed = await asyncio.to_thread(parse_feed, raw)
    except ParseError as exc:
        raise ParseError(source, str(exc).removeprefix(f"source {NAME}: ")) from None
    problem = freshness(feed, edition)
    if problem is not None:
        raise SourceError(source, problem)
    return Fetched(feed.papers)
