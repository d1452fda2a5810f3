"""The Collect stage: run every configured source concurrently, isolate failures, dedupe.

``collect`` never raises for a failing source: each one gets a ``SourceReport`` and the
caller (the pipeline) decides what to do when all failed or nothing was announced.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpx

from newsletter.config import Settings, SourceSpec
from newsletter.errors import SourceError
from newsletter.models import Paper
from newsletter.sources import arxiv_api, arxiv_rss, hf_daily, sample

logger = logging.getLogger(__name__)

Fetch = Callable[[httpx.AsyncClient, Settings, str, dt.date], Awaitable[bytes]]
Parse = Callable[[bytes], list[Paper]]

REGISTRY: dict[str, tuple[Fetch, Parse]] = {
    "hf_daily": (hf_daily.fetch, hf_daily.parse),
    "arxiv_rss": (arxiv_rss.fetch, arxiv_rss.parse),
    "arxiv_api": (arxiv_api.fetch, arxiv_api.parse),
    "sample": (sample.fetch, sample.parse),
}


@dataclass(frozen=True, slots=True)
class SourceReport:
    """How one configured source did: ``name`` is the spec as written ("arxiv_rss:cs.LG")."""

    name: str
    ok: bool
    count: int = 0
    error: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class CollectResult:
    papers: tuple[Paper, ...]
    reports: tuple[SourceReport, ...]

    @property
    def all_failed(self) -> bool:
        return bool(self.reports) and not any(r.ok for r in self.reports)

    @property
    def nothing_announced(self) -> bool:
        """At least one source answered, and no source had a paper (a holiday, a weekend)."""
        return not self.papers and any(r.ok for r in self.reports)

    @property
    def failed(self) -> tuple[SourceReport, ...]:
        return tuple(r for r in self.reports if not r.ok)


async def collect(settings: Settings, client: httpx.AsyncClient, date: dt.date) -> CollectResult:
    specs = settings.source_specs
    outcomes = await asyncio.gather(*(_run(spec, settings, client, date) for spec in specs))
    reports = tuple(report for report, _ in outcomes)
    papers = dedupe(paper for _, found in outcomes for paper in found)
    logger.debug(
        "collected %d papers for %s from %d/%d sources",
        len(papers),
        date,
        sum(r.ok for r in reports),
        len(reports),
    )
    return CollectResult(papers=papers, reports=reports)


async def _run(
    spec: SourceSpec, settings: Settings, client: httpx.AsyncClient, date: dt.date
) -> tuple[SourceReport, list[Paper]]:
    name = repr(spec)
    fetch, parse = REGISTRY[spec.name]
    started = time.perf_counter()
    try:
        raw = await fetch(client, settings, spec.argument, date)
        # feedparser takes ~1 ms per item: parse off the event loop so other fetches go on.
        papers = await asyncio.to_thread(parse, raw)
    except SourceError as exc:
        error = str(exc)
    except Exception as exc:  # a bug in one source must not sink the others
        logger.exception("%s: unexpected failure", name)
        error = f"source {name}: unexpected {type(exc).__name__}: {exc}"
    else:
        seconds = time.perf_counter() - started
        logger.debug("%s: %d papers in %.2fs", name, len(papers), seconds)
        return SourceReport(name, True, len(papers), "", seconds), papers
    seconds = time.perf_counter() - started
    logger.warning("%s failed after %.2fs: %s", name, seconds, error)
    return SourceReport(name, False, 0, error.splitlines()[0] if error else "", seconds), []


def dedupe(papers: Iterable[Paper]) -> tuple[Paper, ...]:
    """One record per arXiv id (``Paper.merge`` in arrival order), HF upvotes first, then id."""
    merged: dict[str, Paper] = {}
    for paper in papers:
        seen = merged.get(paper.arxiv_id)
        merged[paper.arxiv_id] = paper if seen is None else seen.merge(paper)
    return tuple(sorted(merged.values(), key=_order))


def _order(paper: Paper) -> tuple[bool, int, str]:
    return (paper.upvotes is None, -(paper.upvotes or 0), paper.arxiv_id)
