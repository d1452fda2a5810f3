"""arXiv RSS 2.0 (``rss.arxiv.org/rss/cs.LG+cs.CL``): today's announcements, via feedparser.

Only announce types ``new`` and ``cross`` are kept: ``replace`` / ``replace-cross`` are
revisions of papers announced before. Items carry no date of their own; the channel's
``pubDate`` (the announcement day) is used as ``published``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import logging
import re
from typing import Any

import feedparser
import httpx

from newsletter.config import Settings
from newsletter.errors import ParseError
from newsletter.models import Paper
from newsletter.sources import http
from newsletter.sources.normalize import arxiv_id, categories, collapse, one_line

logger = logging.getLogger(__name__)

NAME = "arxiv_rss"
KEPT_TYPES = ("new", "cross")
_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:)?\s*", re.IGNORECASE)
# feedparser sets bozo for these while still having parsed the document correctly.
_BENIGN = (feedparser.CharacterEncodingOverride,)


def parse(raw: bytes | str) -> list[Paper]:
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
    published = _struct_utc(feed.feed.get("published_parsed") or feed.feed.get("updated_parsed"))
    papers: list[Paper] = []
    dropped: dict[str, int] = {}
    for entry in feed.entries:
        kind = collapse(entry.get("arxiv_announce_type")).lower()
        if kind not in KEPT_TYPES:
            dropped[kind or "unknown"] = dropped.get(kind or "unknown", 0) + 1
            continue
        paper = _paper(entry, kind, published)
        if paper is None:
            logger.warning("%s: skipped an item without an arXiv id or title", NAME)
            continue
        papers.append(paper)
    logger.debug("%s: kept %d items, dropped %s", NAME, len(papers), dropped)
    return papers


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


async def fetch(
    client: httpx.AsyncClient, settings: Settings, spec_argument: str, date: dt.date
) -> bytes:
    """Today's feed: arXiv RSS has no archive, so ``date`` only appears in the log."""
    logger.debug("%s:%s: fetching the current feed for %s", NAME, spec_argument, date)
    return await http.get(
        client,
        feed_url(settings, spec_argument),
        source=f"{NAME}:{spec_argument}",
        retries=settings.http_retries,
        timeout=settings.http_timeout,
        user_agent=settings.user_agent,
    )
