"""What ``newsletter status`` reads, through SQLAlchemy and the store modules: the reader
for PostgreSQL, and for a SQLite database whose schema is not current (status then opens
the store as every command does, which migrates it first). The SQLite fast path,
``newsletter.store.status_sqlite``, gives the same records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection

from newsletter.models import Edition, LedgerRow
from newsletter.store import editions, ledger_admin, runs, subscribers
from newsletter.store import inbox as events
from newsletter.store import ledger_read as ledger
from newsletter.store.records import (
    EditionSummary,
    Person,
    ProblemRow,
    RunRecord,
    SourceHealth,
    Suppressed,
)


def _summary(edition: Edition | None) -> EditionSummary | None:
    if edition is None:
        return None
    return EditionSummary(
        id=edition.id,
        date=edition.date,
        papers=len(edition.papers),
        sources=tuple(edition.sources),
        missing=tuple(edition.missing),
    )


class AlchemyStatusReads:
    """The reads of ``newsletter.ops.status.StatusReads`` on one SQLAlchemy connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def recent_runs(self, limit: int) -> list[RunRecord]:
        return runs.recent(self.conn, limit)

    def runs_by_edition(self, since: dt.date) -> dict[dt.date, RunRecord]:
        return runs.last_run_by_edition(self.conn, since)

    def sources(self) -> list[SourceHealth]:
        return runs.sources(self.conn)

    def recent_editions(self, limit: int) -> list[EditionSummary]:
        return [
            summary
            for edition in editions.recent(self.conn, limit)
            if (summary := _summary(edition)) is not None
        ]

    def edition_by_date(self, date: dt.date) -> EditionSummary | None:
        return _summary(editions.get_by_date(self.conn, date))

    def edition_by_id(self, edition_id: int) -> EditionSummary | None:
        return _summary(editions.get(self.conn, edition_id))

    def ledger_counts(self, edition_id: int) -> dict[str, int]:
        return ledger.counts(self.conn, edition_id)

    def oldest_deferred(self, edition_id: int) -> LedgerRow | None:
        return ledger.oldest_deferred(self.conn, edition_id)

    def deferred_before(self, before: dt.datetime) -> tuple[int, LedgerRow | None]:
        return ledger.deferred_before(self.conn, before)

    def problem_rows(
        self, since: dt.datetime, *, limit: int
    ) -> tuple[list[tuple[dt.date, str, int]], list[ProblemRow]]:
        return ledger_admin.problem_rows(self.conn, since, limit=limit)

    def suppressed_since(self, since: dt.datetime, *, limit: int = 20) -> list[Suppressed]:
        return ledger_admin.suppressed_since(self.conn, since, limit=limit)

    def subscriber_counts(self) -> dict[str, int]:
        return subscribers.count_by_status(self.conn)

    def people(self, ids: Collection[int]) -> dict[int, Person]:
        found = subscribers.get_many(self.conn, list(ids))
        return {sid: Person(s.email, s.status) for sid, s in found.items()}

    def inbox_events(
        self, kinds: Collection[str], since: dt.datetime
    ) -> list[tuple[str, int | None, dict[str, Any], dt.datetime]]:
        return events.recent(self.conn, kinds, since)
