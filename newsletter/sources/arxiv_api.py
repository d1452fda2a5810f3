"""arXiv API (``export.arxiv.org/api/query``): Atom search results, parsed with ElementTree.

Two dialects are handled alike because lookups go by namespace URI, not by prefix or
position: old responses declare ``xmlns:arxiv`` / ``xmlns:opensearch`` on each element,
new ones declare them on the root and order the elements differently.
"""

from __future__ import annotations

import datetime as dt
import logging
import xml.etree.ElementTree as ET

import httpx

from newsletter.config import Settings
from newsletter.errors import ParseError
from newsletter.models import Paper
from newsletter.sources import http
from newsletter.sources.normalize import (
    arxiv_id,
    categories,
    collapse,
    one_line,
    published_or_none,
)

logger = logging.getLogger(__name__)

NAME = "arxiv_api"
MAX_RESULTS = 200  # one day of a focused query; arXiv asks clients to keep pages modest
LOOKBACK_DAYS = 2  # submittedDate window [date - 2 days, date] covers weekends' lag

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"


def parse(raw: bytes | str) -> list[Paper]:
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
    papers: list[Paper] = []
    for entry in root.iter(f"{_ATOM}entry"):
        if "/api/errors" in _text(entry, f"{_ATOM}id"):
            # arXiv reports a bad query as a feed holding one "Error" entry.
            reason = collapse(_text(entry, f"{_ATOM}summary")) or "unspecified"
            raise ParseError(NAME, f"arXiv API error: {reason[:160]}")
        paper = _paper(entry)
        if paper is None:
            logger.warning("%s: skipped an entry without an arXiv id or title", NAME)
            continue
        papers.append(paper)
    return papers


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


def query_params(spec_argument: str, date: dt.date) -> dict[str, str]:
    """Search parameters: the user's query limited to papers submitted in the last days."""
    start = (date - dt.timedelta(days=LOOKBACK_DAYS)).strftime("%Y%m%d")
    end = date.strftime("%Y%m%d")
    query = spec_argument.strip()
    if "submitteddate" not in query.lower():
        query = f"({query}) AND submittedDate:[{start}0000 TO {end}2359]"
    return {
        "search_query": query,
        "sortBy": "submittedDate",
        "sortOrder": "descending",
        "start": "0",
        "max_results": str(MAX_RESULTS),
    }


async def fetch(
    client: httpx.AsyncClient, settings: Settings, spec_argument: str, date: dt.date
) -> bytes:
    return await http.get(
        client,
        settings.arxiv_api_url,
        params=query_params(spec_argument, date),
        source=f"{NAME}:{spec_argument}",
        retries=settings.http_retries,
        timeout=settings.http_timeout,
        user_agent=settings.user_agent,
    )
