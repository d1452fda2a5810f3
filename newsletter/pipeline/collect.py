"""The Collect stage: run every configured source concurrently, isolate failures, dedupe.

``collect`` never raises for a failing source: each one gets a ``SourceReport`` and the
caller (the pipeline) decides what to do when some failed, all failed or nothing was
announced. Requests to arXiv's hosts go through one ``Pacer`` (one at a time, spaced);
Hugging Face runs beside them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import httpx

from newsletter.config import Settings
from newsletter.errors import SourceError
from newsletter.models import Paper
from newsletter.source_list import SourceSpec
from newsletter.sources import arxiv_api, arxiv_rss, hf_daily, sample
from newsletter.sources.base import Fetch, FetchContext

logger = logging.getLogger(__name__)

REGISTRY: dict[str, Fetch] = {
    "hf_daily": hf_daily.fetch,
    "arxiv_rss": arxiv_rss.fetch,
    "arxiv_api": arxiv_api.fetch,
    "sample": sample.fetch,
}
ARXIV_SOURCES = frozenset({"arxiv_rss", "arxiv_api"})


@dataclass(frozen=True, slots=True)
class SourceReport:
    """How one configured source did: ``name`` is the spec as written ("arxiv_rss:cs.LG"),
    ``kind`` the source's type ("arxiv_rss"), ``notes`` warnings such as a page bound hit."""

    name: str
    ok: bool
    count: int = 0
    error: str = ""
    seconds: float = 0.0
    kind: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CollectResult:
    """Every source's report for one collection and the papers, deduplicated."""

    papers: tuple[Paper, ...]
    reports: tuple[SourceReport, ...]

    @property
    def all_failed(self) -> bool:
        """Whether every source failed (nothing to freeze)."""
        return bool(self.reports) and not any(r.ok for r in self.reports)

    @property
    def nothing_announced(self) -> bool:
        """At least one source answered, and no source had a paper (a holiday, a weekend)."""
        return not self.papers and any(r.ok for r in self.reports)

    @property
    def arxiv_holiday(self) -> bool:
        """Every arXiv source answered, and none announced a paper: arXiv had a holiday."""
        return self.arxiv_holiday_after(())

    def arxiv_holiday_after(self, sent_before: Collection[str]) -> bool:
        """Every arXiv source answered, and none brought a paper outside ``sent_before``
        (the ids earlier editions had): ``arxiv_api`` also asks for the previous
        announcement's window, so on a holiday it brings back papers already sent."""
        arxiv = [r for r in self.reports if r.kind in ARXIV_SOURCES]
        if not arxiv or not all(r.ok for r in arxiv):
            return False
        return not any(
            ARXIV_SOURCES.intersection(p.sources) and p.arxiv_id not in sent_before
            for p in self.papers
        )

    @property
    def failed(self) -> tuple[SourceReport, ...]:
        """The reports of the sources that failed."""
        return tuple(r for r in self.reports if not r.ok)


async def collect(settings: Settings, client: httpx.AsyncClient, date: dt.date) -> CollectResult:
    """Every configured source's papers for edition ``date``, merged once per arXiv id.

    The sources (``settings.source_specs``) are fetched concurrently through ``client``;
    one that fails (``SourceError``, or any bug) is isolated: its ``SourceReport`` says
    why (one line) and the others go on. Never raises for a source; the result's papers
    are ordered by Hugging Face upvotes, then arXiv id (``dedupe``)."""
    context = FetchContext.for_settings(client, settings)
    specs = settings.source_specs
    outcomes = await asyncio.gather(*(_run(spec, context, date) for spec in specs))
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
    spec: SourceSpec, context: FetchContext, date: dt.date
) -> tuple[SourceReport, list[Paper]]:
    name = repr(spec)
    fetch = REGISTRY[spec.name]
    started = time.perf_counter()
    try:
        # Each source parses off the event loop (feedparser takes ~1 ms per item).
        fetched = await fetch(context, spec.argument, date)
    except SourceError as exc:
        error = exc.reason  # the report names the source: never "hf_daily: source hf_daily: …"
    except Exception as exc:  # a bug in one source must not sink the others
        logger.exception("%s: unexpected failure", name)
        error = f"unexpected {type(exc).__name__}: {exc}"
    else:
        seconds = time.perf_counter() - started
        papers = fetched.papers
        logger.debug("%s: %d papers in %.2fs", name, len(papers), seconds)
        report = SourceReport(name, True, len(papers), "", seconds, spec.name, fetched.notes)
        return report, papers
    seconds = time.perf_counter() - started
    logger.warning("%s failed after %.2fs: %s", name, seconds, error)
    line = error.splitlines()[0] if error else ""
    return SourceReport(name, False, 0, line, seconds, spec.name), []


def dedupe(papers: Iterable[Paper]) -> tuple[Paper, ...]:
    """One record per arXiv id (``Paper.merge`` in arrival order), HF upvotes first, then id."""
    merged: dict[str, Paper] = {}
    for paper in papers:
        seen = merged.get(paper.arxiv_id)
        merged[paper.arxiv_id] = paper if seen is None else seen.merge(paper)
    return tuple(sorted(merged.values(), key=_order))


def _order(paper: Paper) -> tuple[bool, int, str]:
    return (paper.upvotes is None, -(paper.upvotes or 0), paper.arxiv_id)
