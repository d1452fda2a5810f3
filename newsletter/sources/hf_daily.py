"""Hugging Face Daily Papers: ``GET {hf_daily_url}?date=YYYY-MM-DD&limit=100&p=K`` -> JSON list.

Each item is ``{"paper": {"id", "title", "summary", "authors": [{"name"}], "upvotes",
"publishedAt", "ai_summary"?, "ai_keywords"?, "githubRepo"?, "projectPage"?, ...}, ...}``.
Optional fields come and go between API versions; only id and title are required.

The list of a UTC day fills up during that day, and the API pages it: at most 50 items
unless ``limit`` (up to 100) says more, page ``p`` counted from 0. ``fetch`` reads every
UTC day of the edition (``edition_day.hf_days``: Monday's edition is three days) page by
page until an empty page, one shorter than the pages before it (a first page shorter
than ``limit`` may still be a server's own cap) or one with no new paper, at most ``HF_MAX_PAGES`` pages a day (a
note says when a day had more). A page that fails fails the source: a day is never kept
in part.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

from newsletter.edition_day import hf_days
from newsletter.errors import ParseError
from newsletter.models import Paper
from newsletter.sources import http
from newsletter.sources.base import FetchContext, Fetched
from newsletter.sources.normalize import arxiv_id, collapse, published_or_none
from newsletter.text import one_line

logger = logging.getLogger(__name__)

NAME = "hf_daily"
PAGE_LIMIT = 100  # the most the API gives per page


def parse(raw: bytes | str) -> list[Paper]:
    """The papers of one Hugging Face Daily Papers JSON answer; ``ParseError`` when it is
    not one."""
    return parse_items(raw, source=NAME)


def parse_items(raw: bytes | str, *, source: str) -> list[Paper]:
    """Papers from a Daily Papers response, tagged ``sources=(source,)``."""
    return parse_page(raw, source=source)[0]


def parse_page(raw: bytes | str, *, source: str) -> tuple[list[Paper], int]:
    """The papers of one page and how many items the page held (usable or not)."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParseError(source, f"not JSON: {one_line(exc)}") from None
    if not isinstance(data, list):
        raise ParseError(source, f"expected a JSON list of papers, got {type(data).__name__}")
    papers: list[Paper] = []
    for index, item in enumerate(data):
        paper = _paper(item, source)
        if paper is None:
            logger.warning("%s: skipped item %d: no usable paper id and title", source, index)
            continue
        papers.append(paper)
    if data and not papers:
        raise ParseError(source, f"none of the {len(data)} items has a paper id and title")
    return papers, len(data)


def _paper(item: Any, source: str) -> Paper | None:
    if not isinstance(item, dict):
        return None
    paper = item.get("paper")
    if not isinstance(paper, dict):
        return None
    ident = arxiv_id(_text(paper.get("id")))
    title = collapse(_text(paper.get("title")) or _text(item.get("title")))
    if ident is None or not title:
        return None
    published = _text(paper.get("publishedAt")) or _text(item.get("publishedAt"))
    upvotes = paper.get("upvotes")
    return Paper(
        arxiv_id=ident,
        title=title,
        abstract=collapse(_text(paper.get("summary")) or _text(item.get("summary"))),
        authors=tuple(
            collapse(a["name"])
            for a in _list(paper.get("authors"))
            if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip()
        ),
        published=published_or_none(published, source=source),
        upvotes=upvotes if isinstance(upvotes, int) and not isinstance(upvotes, bool) else None,
        ai_summary=collapse(_text(paper.get("ai_summary"))) or None,
        ai_keywords=tuple(
            collapse(k) for k in _list(paper.get("ai_keywords")) if isinstance(k, str) and k.strip()
        ),
        github_repo=_url(paper.get("githubRepo")),
        project_page=_url(paper.get("projectPage")),
        sources=(source,),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _url(value: object) -> str | None:
    """Only absolute http(s) links: a ``javascript:`` link must never reach an email."""
    text = _text(value).strip()
    usable = " " not in text and collapse(text) == text  # no surrogate, no control character
    return text if text.startswith(("https://", "http://")) and usable else None


async def fetch(context: FetchContext, spec_argument: str, edition: dt.date) -> Fetched:
    """Every paper of the HF lists of ``edition``'s UTC days, each day whole."""
    source = f"{NAME}:{spec_argument}" if spec_argument else NAME
    papers: list[Paper] = []
    notes: list[str] = []
    for day in hf_days(edition):
        found, note = await _fetch_day(context, source, day)
        papers += found
        notes += [note] if note else []
    return Fetched(papers, tuple(notes))


async def _fetch_day(
    context: FetchContext, source: str, day: dt.date
) -> tuple[list[Paper], str | None]:
    settings = context.settings
    papers: list[Paper] = []
    seen = longest = 0
    ids: set[str] = set()
    for page in range(settings.hf_max_pages):
        raw = await http.get(
            context.client,
            settings.hf_daily_url,
            params={"date": day.isoformat(), "limit": str(PAGE_LIMIT), "p": str(page)},
            source=source,
            retries=settings.http_retries,
            timeout=settings.http_timeout,
            user_agent=settings.user_agent,
            pacer=context.pacer,
        )
        found, items = await asyncio.to_thread(parse_page, raw, source=source)
        fresh = [paper for paper in found if paper.arxiv_id not in ids]
        papers += fresh
        ids.update(paper.arxiv_id for paper in fresh)
        seen += items
        # The last page is an empty one, or one shorter than those before it (a page
        # shorter than ``limit`` alone may be a server giving fewer than asked), or one
        # that repeats the last (a server, or a static staging copy, ignoring ``p``).
        if items == 0 or items < longest or (found and not fresh):
            return papers, None
        longest = max(longest, items)
    note = (
        f"{source}: the list of {day} has more than {seen} papers"
        f" (HF_MAX_PAGES={settings.hf_max_pages} pages); the rest is left out"
    )
    logger.warning("%s", note)
    return papers, note
