"""arXiv API (``export.arxiv.org/api/query``): Atom search results, parsed with ElementTree.

Two dialects are handled alike because lookups go by namespace URI, not by prefix or
position: old responses declare ``xmlns:arxiv`` / ``xmlns:opensearch`` on each element,
new ones declare them on the root and order the elements differently.

``fetch`` asks for the papers submitted in the window of the edition's announcement and of
the one before it (``query_window``), newest first, page by page with ``start=`` up to
``ARXIV_API_MAX_PAGES`` pages (a note says when a query had more). The API has no
"announced on" field, and holidays and papers held in moderation move a paper to a later
announcement than its submission time says: the extra window catches those a day late
rather than never, and the pipeline drops the papers an earlier edition already had
(``store.editions.seen_before``). An empty page although ``totalResults`` says there are
more (a known flaky answer) is asked again, then fails the source; a refused query (HTTP
4xx) fails with the reason from arXiv's error entry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from newsletter.edition_day import previous_announcement_day, submission_window
from newsletter.errors import ParseError, SourceError
from newsletter.models import Paper
from newsletter.sources import http
from newsletter.sources.base import FetchContext, Fetched
from newsletter.sources.normalize import arxiv_id, categories, collapse, published_or_none
from newsletter.text import one_line

logger = logging.getLogger(__name__)

NAME = "arxiv_api"

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


@dataclass(frozen=True, slots=True)
class Page:
    """One answer: its papers, how many entries it held, and ``totalResults`` (None: absent)."""

    papers: list[Paper]
    entries: int
    total: int | None


def parse(raw: bytes | str) -> list[Paper]:
    """The papers of one arXiv API (Atom) answer; ``ParseError`` when it is not one."""
    return parse_page(raw).papers


def parse_page(raw: bytes | str) -> Page:
    """One arXiv API answer: its papers and the total results (for paging)."""
    root = _root(raw)
    papers: list[Paper] = []
    entries = 0
    for entry in root.iter(f"{_ATOM}entry"):
        entries += 1
        if "/api/errors" in _text(entry, f"{_ATOM}id"):
            # arXiv reports a bad query as a feed holding one "Error" entry.
            reason = collapse(_text(entry, f"{_ATOM}summary")) or "unspecified"
            raise ParseError(NAME, f"arXiv API error: {reason[:160]}")
        paper = _paper(entry)
        if paper is None:
            logger.warning("%s: skipped an entry without an arXiv id or title", NAME)
            continue
        papers.append(paper)
    total = _text(root, f"{_OPENSEARCH}totalResults").strip()
    return Page(papers, entries, int(total) if total.isdigit() else None)


def error_reason(raw: bytes) -> str | None:
    """arXiv's reason from the error entry of a refused query's answer, if it has one."""
    try:
        root = _root(raw)
    except ParseError:
        return None
    for entry in root.iter(f"{_ATOM}entry"):
        if "/api/errors" in _text(entry, f"{_ATOM}id"):
            return collapse(_text(entry, f"{_ATOM}summary")) or None
    return None


def _root(raw: bytes | str) -> ET.Element:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    # ElementTree never fetches external entities; refusing any DTD also rules out
    # entity-expansion bombs. arXiv's responses never carry one.
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise ParseError(NAME, "refusing XML with a DTD")
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DTD (checked above), no external entities
    except ET.ParseError as exc:
        raise ParseError(NAME, f"malformed XML: {one_line(exc)}") from None
    if root.tag != f"{_ATOM}feed":
        raise ParseError(NAME, f"expected an Atom <feed>, got <{_local(root.tag)}>")
    return root


def _paper(entry: ET.Element) -> Paper | None:
    ident = arxiv_id(_text(entry, f"{_ATOM}id"))
    title = collapse(_text(entry, f"{_ATOM}title"))
    if ident is None or not title:
        return None
    primary = entry.find(f"{_ARXIV}primary_category")
    terms = [primary.get("term", "")] if primary is not None else []
    terms += [c.get("term", "") for c in entry.findall(f"{_ATOM}category")]
    published = _text(entry, f"{_ATOM}published")
    return Paper(
        arxiv_id=ident,
        title=title,
        abstract=collapse(_text(entry, f"{_ATOM}summary")),
        authors=tuple(
            name
            for name in (
                collapse(_text(a, f"{_ATOM}name")) for a in entry.findall(f"{_ATOM}author")
            )
            if name
        ),
        categories=categories(terms),
        published=published_or_none(published, source=NAME),
        comment=collapse(_text(entry, f"{_ARXIV}comment")) or None,
        sources=(NAME,),
    )


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(tag)
    return "".join(found.itertext()) if found is not None else ""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def query_window(edition: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC: the submission windows of ``edition``'s announcement and the one
    before it (``edition_day.submission_window``)."""
    start, _ = submission_window(previous_announcement_day(edition))
    _, end = submission_window(edition)
    return start, end


def query_params(spec_argument: str, edition: dt.date, start: int, size: int) -> dict[str, str]:
    """Search parameters: the user's query limited to ``query_window(edition)`` (arXiv's
    ``submittedDate:[FROM TO]`` is in UTC to the minute, both ends included), unless the
    query already says ``submittedDate``."""
    first, end = query_window(edition)
    last = end - dt.timedelta(minutes=1)
    query = spec_argument.strip()
    if "submitteddate" not in query.lower():
        query = f"({query}) AND submittedDate:[{first:%Y%m%d%H%M} TO {last:%Y%m%d%H%M}]"
    return {
        "search_query": query,
        "sortBy": "submittedDate",
        "sortOrder": "descending",
        "start": str(start),
        "max_results": str(size),
    }


async def fetch(context: FetchContext, spec_argument: str, edition: dt.date) -> Fetched:
    """Every result of the query for ``edition``, page by page, up to the bound."""
    source = f"{NAME}:{spec_argument}"
    settings = context.settings
    size, bound = settings.arxiv_api_page_size, settings.arxiv_api_max_pages
    papers: list[Paper] = []
    start, total = 0, 0
    for _ in range(bound):
        page = await _page(context, source, spec_argument, edition, start)
        papers += page.papers
        start += page.entries
        total = page.total if page.total is not None else start
        if page.entries == 0 or start >= total:
            return Fetched(papers)
    note = (
        f"{source}: {total} results, only the first {start} fetched"
        f" (ARXIV_API_MAX_PAGES={bound} pages of {size}); narrow the query or raise the bound"
    )
    logger.warning("%s", note)
    return Fetched(papers, (note,))


async def _page(
    context: FetchContext, source: str, spec_argument: str, edition: dt.date, start: int
) -> Page:
    """One page; an empty page although ``totalResults`` counts past ``start`` is asked again
    (``HTTP_RETRIES`` times, each paced), then fails the source."""
    settings = context.settings
    attempts = settings.http_retries + 1
    page = Page([], 0, None)
    for attempt in range(attempts):
        raw = await http.get(
            context.client,
            settings.arxiv_api_url,
            params=query_params(spec_argument, edition, start, settings.arxiv_api_page_size),
            source=source,
            retries=settings.http_retries,
            timeout=settings.http_timeout,
            user_agent=settings.user_agent,
            pacer=context.pacer,
            explain=error_reason,
        )
        try:
            page = await asyncio.to_thread(parse_page, raw)
        except ParseError as exc:
            raise ParseError(source, str(exc).removeprefix(f"source {NAME}: ")) from None
        if page.entries or not page.total or page.total <= start:
            return page
        if attempt + 1 < attempts:
            logger.info(
                "%s: empty page at start=%d although totalResults=%d; asking again",
                source,
                start,
                page.total,
            )
    raise SourceError(
        source,
        f"arXiv answered an empty page at start={start} although totalResults={page.total},"
        f" {attempts} time{'s' if attempts > 1 else ''}",
    )
