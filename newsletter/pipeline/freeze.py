"""Between the sources and the send: collect an edition in memory, judge it, freeze it.

``collect_fresh`` fetches every source for the edition and reads the store (which papers
earlier editions had) without writing anything: the dry run uses it as it is.
``record_health`` and ``freeze_collected`` are the writes a real run adds.
``recollect`` throws a frozen edition away and collects it again, while none of its
messages can have reached a reader.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import httpx

from newsletter.config import Settings
from newsletter.errors import ConstraintError, InputError, NotFoundError
from newsletter.models import Edition, Paper
from newsletter.pipeline.collect import CollectResult, collect
from newsletter.pipeline.readiness import Verdict, judge
from newsletter.sources.http import client as http_client
from newsletter.store import editions, runs
from newsletter.store.db import Store
from newsletter.words import plural

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Collected:
    """One collection of edition ``date``: what came, what is new, and the verdict."""

    date: dt.date
    result: CollectResult
    fresh: tuple[Paper, ...]
    verdict: Verdict

    @property
    def repeats(self) -> int:
        """How many of the papers were already in an earlier edition."""
        return len(self.result.papers) - len(self.fresh)

    def summary(self) -> str:
        """``collect: 74 papers (hf_daily 62, arxiv_rss:cs.LG FAILED); 3 already sent ...``"""
        parts = ", ".join(
            f"{r.name} {r.count}" if r.ok else f"{r.name} FAILED" for r in self.result.reports
        )
        repeat = f"; {self.repeats} already sent in earlier editions" if self.repeats else ""
        return f"collect: {plural(len(self.fresh), 'paper')} ({parts}){repeat}"

    def edition(self, now: dt.datetime) -> Edition:
        """The edition as it would be frozen (id 0: not stored), for a dry run."""
        return Edition(0, self.date, self.fresh, now, self.ok_sources, self.verdict.missing)

    @property
    def ok_sources(self) -> tuple[str, ...]:
        """The names of the sources that answered."""
        return tuple(r.name for r in self.result.reports if r.ok)


async def collect_fresh(
    store: Store,
    settings: Settings,
    date: dt.date,
    now: dt.datetime,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Collected:
    """Collect edition ``date`` and judge it at ``now``; reads the store, writes nothing."""
    async with http_client(settings, transport=transport) as client:
        result = await collect(settings, client, date)
    with store.begin() as conn:
        seen = editions.seen_before(conn, [p.arxiv_id for p in result.papers], date)
    fresh = tuple(p for p in result.papers if p.arxiv_id not in seen)
    for failed in result.failed:
        log.warning("source %s failed: %s", failed.name, failed.error)
    for report in result.reports:
        for note in report.notes:
            log.warning("%s", note)
    verdict = judge(result, len(fresh), date=date, now=now, settings=settings, sent_before=seen)
    return Collected(date, result, fresh, verdict)


def record_health(store: Store, collected: Collected, now: dt.datetime) -> None:
    """Each source's outcome, for ``newsletter status``."""
    reports = collected.result.reports
    with store.begin() as conn:
        runs.record_sources(conn, [(r.name, r.ok, r.count, r.error) for r in reports], now)


def freeze_collected(store: Store, collected: Collected, now: dt.datetime) -> Edition:
    """Store the edition with its sources and the missing ones (an existing one wins)."""
    with store.begin() as conn:
        return editions.freeze(
            conn,
            collected.date,
            collected.fresh,
            sources=collected.ok_sources,
            missing=collected.verdict.missing,
            now=now,
        )


@dataclass(frozen=True, slots=True)
class Recollected:
    """``edition`` is the new one, or None when the verdict kept the old one (``reason``)."""

    dropped: Edition
    collected: Collected
    edition: Edition | None


def _refuse_if_gone_out(store: Store, date: dt.date) -> Edition:
    with store.begin() as conn:
        old = editions.get_by_date(conn, date)
        if old is None:
            raise NotFoundError(f"edition of {date}: nothing is frozen for that date")
        gone = editions.gone_out(conn, old.id)
    if gone is not None:
        raise InputError(
            "DATE",
            date,
            f"edition {date} cannot be collected again: some of its messages may have reached"
            f" readers ({gone})",
        )
    return old


async def recollect(
    store: Store,
    settings: Settings,
    date: dt.date,
    now: dt.datetime,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Recollected:
    """Collect edition ``date`` again and replace the frozen one, only while none of its
    messages has gone out (``editions.gone_out``). The old edition stays when the new
    collection would not be frozen now (a source still failing before the deadline)."""
    old = _refuse_if_gone_out(store, date)
    collected = await collect_fresh(store, settings, date, now, transport)
    record_health(store, collected, now)
    if collected.verdict.action != "freeze":
        return Recollected(old, collected, None)
    _refuse_if_gone_out(store, date)
    try:
        with store.begin() as conn:
            editions.discard(conn, old.id)
            edition = editions.freeze(
                conn,
                date,
                collected.fresh,
                sources=collected.ok_sources,
                missing=collected.verdict.missing,
                now=now,
            )
    except ConstraintError:  # a worker claimed a row between the check and the delete
        raise InputError(
            "DATE", date, f"edition {date}: a sender started on it meanwhile; nothing changed"
        ) from None
    return Recollected(old, collected, edition)
