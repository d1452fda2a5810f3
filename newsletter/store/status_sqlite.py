# ruff: noqa: S608 -- every value is bound (?); what is put into the SQL text is constants
"""What ``newsletter status`` reads from a SQLite database, with the standard ``sqlite3``
module: no SQLAlchemy to import (about half a second of CPU on a busy machine). The file
must exist (``mode=rw`` never creates one) and the connection is ``query_only``, so status
can change nothing; it is not opened ``mode=ro``, because a read-only connection cannot
remove the WAL files when it closes and would leave ``-wal`` and ``-shm`` behind.

The same queries as the store modules ``status`` used before (``runs``, ``editions``,
``ledger_read``, ``ledger_admin``, ``subscribers``, ``inbox``), returning the same records
(``newsletter.store.records``) with values converted as SQLAlchemy converts them on SQLite
(times stored as ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, dates ISO, JSON as text, booleans
0/1). ``tests/ops/test_status_readers.py`` checks that both readers give byte-identical
``status`` output on the same database.

``open_current`` gives None when the schema is not the one this code knows (a migration
pending, or a newer one): ``status`` then goes the usual way, which migrates first.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from newsletter.errors import StoreError
from newsletter.models import LEDGER_STATES, SUBSCRIBER_STATUSES, LedgerRow
from newsletter.store.records import (
    BounceEvent,
    EditionSummary,
    Person,
    ProblemRow,
    Refusal,
    RunRecord,
    SourceHealth,
    Suppressed,
    suppression_reason,
)

# The migrations (``newsletter.store.migrations.MIGRATIONS``) whose schema these queries
# read; a test keeps the two lists equal.
SCHEMA = (
    "m001_initial",
    "m002_ledger_data_started",
    "m010_edition_missing_sources",
    "m020_alerts_sent",
    "m030_subscriber_token_nonce",
    "m031_subscriber_ids_never_reused",
    "m032_subscriber_token_nonce_default",
    "m040_subscribers_email_lower_index",
    "m041_paper_embeddings",
    "m042_topic_embeddings",
)
LEDGER_COLUMNS = ", ".join(LedgerRow.__slots__)
RUN_COLUMNS = "id, command, edition_date, started_at, finished_at, outcome, summary, counts"


def _time(value: dt.datetime) -> str:
    """A time as SQLAlchemy stores it on SQLite: UTC, naive, with microseconds."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _from_time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


def _from_date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _from_json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _fail(exc: sqlite3.Error) -> StoreError:
    """The one line ``Store`` gives for a driver error (``store.db.describe``)."""
    lines = str(exc).strip().splitlines()
    return StoreError(f"database error: {lines[0] if lines else type(exc).__name__}")


class SqliteStatusReads:
    """The reads of ``newsletter.ops.status.StatusReads`` on one read-only ``sqlite3``
    connection, inside one transaction (a consistent snapshot)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    @contextmanager
    def open_current(cls, path: Path) -> Iterator[SqliteStatusReads | None]:
        """The reader for the SQLite file at ``path`` (which must exist), or None when its
        schema is not ``SCHEMA``; ``StoreError`` (one line) when it cannot be read."""
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise _fail(exc) from None
        try:
            conn.execute("PRAGMA query_only = ON")  # this connection can change nothing
            conn.execute("BEGIN")
            try:
                applied = {name for (name,) in conn.execute("SELECT name FROM migrations")}
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):
                    raise
                applied = set()
            yield cls(conn) if applied == set(SCHEMA) else None
        except sqlite3.Error as exc:
            raise _fail(exc) from None
        finally:
            conn.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    # Runs and sources (``store.runs``)

    def recent_runs(self, limit: int) -> list[RunRecord]:
        sql = f"SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?"
        return [_run(row) for row in self._rows(sql, (limit,))]

    def runs_by_edition(self, since: dt.date) -> dict[dt.date, RunRecord]:
        sql = (
            f"SELECT {RUN_COLUMNS} FROM runs WHERE command = 'run' AND edition_date >= ?"
            " ORDER BY id"
        )
        found: dict[dt.date, RunRecord] = {}
        for row in self._rows(sql, (since.isoformat(),)):
            record = _run(row)
            if record.edition_date is not None:
                found[record.edition_date] = record
        return found

    def sources(self) -> list[SourceHealth]:
        sql = (
            "SELECT source, ok, last_attempt_at, last_success_at, last_error, last_count"
            " FROM source_health ORDER BY source"
        )
        return [
            SourceHealth(source, bool(ok), _from_time(tried), _from_time(worked), error, count)
            for source, ok, tried, worked, error, count in self._rows(sql)
        ]

    # Editions (``store.editions``)

    def _editions(self, where: str, params: Sequence[Any]) -> list[EditionSummary]:
        sql = f"SELECT id, date, papers, sources, missing FROM editions {where}"
        found = []
        for edition_id, date, papers, sources, missing in self._rows(sql, params):
            found.append(
                EditionSummary(
                    id=edition_id,
                    date=dt.date.fromisoformat(date),
                    papers=len(_from_json(papers)),
                    sources=tuple(_from_json(sources) or ()),
                    missing=tuple(
                        (str(m["source"]), str(m["error"])) for m in _from_json(missing) or ()
                    ),
                )
            )
        return found

    def recent_editions(self, limit: int) -> list[EditionSummary]:
        return self._editions("ORDER BY date DESC LIMIT ?", (limit,))

    def edition_by_date(self, date: dt.date) -> EditionSummary | None:
        return next(iter(self._editions("WHERE date = ?", (date.isoformat(),))), None)

    def edition_by_id(self, edition_id: int) -> EditionSummary | None:
        return next(iter(self._editions("WHERE id = ?", (edition_id,))), None)

    # The ledger (``store.ledger_read``, ``store.ledger_admin``)

    def ledger_counts(self, edition_id: int) -> dict[str, int]:
        sql = "SELECT state, count(*) FROM ledger WHERE edition_id = ? GROUP BY state"
        found = {state: int(n) for state, n in self._rows(sql, (edition_id,))}
        return {state: found.get(state, 0) for state in LEDGER_STATES}

    def oldest_deferred(self, edition_id: int) -> LedgerRow | None:
        sql = (
            f"SELECT {LEDGER_COLUMNS} FROM ledger WHERE edition_id = ? AND state = 'deferred'"
            " ORDER BY created_at, id LIMIT 1"
        )
        return next((_ledger_row(row) for row in self._rows(sql, (edition_id,))), None)

    def deferred_before(self, before: dt.datetime) -> tuple[int, LedgerRow | None]:
        where = "WHERE state = 'deferred' AND created_at < ?"
        ((count,),) = self._rows(f"SELECT count(*) FROM ledger {where}", (_time(before),))
        sql = f"SELECT {LEDGER_COLUMNS} FROM ledger {where} ORDER BY created_at, id LIMIT 1"
        oldest = next((_ledger_row(row) for row in self._rows(sql, (_time(before),))), None)
        return int(count), oldest

    def problem_rows(
        self, since: dt.datetime, *, limit: int
    ) -> tuple[list[tuple[dt.date, str, int]], list[ProblemRow]]:
        where = "ledger.state IN ('failed', 'unknown') AND ledger.updated_at >= ?"
        totals = [
            (dt.date.fromisoformat(date), str(state), int(count))
            for date, state, count in self._rows(
                "SELECT editions.date, ledger.state, count(*) FROM ledger"
                " JOIN editions ON editions.id = ledger.edition_id"
                f" WHERE {where} GROUP BY editions.date, ledger.state"
                " ORDER BY editions.date DESC, ledger.state",
                (_time(since),),
            )
        ]
        rows = self._rows(
            "SELECT editions.date, subscribers.email, ledger.state, ledger.attempts,"
            " ledger.updated_at, ledger.last_code, ledger.last_text FROM ledger"
            " JOIN editions ON editions.id = ledger.edition_id"
            " JOIN subscribers ON subscribers.id = ledger.subscriber_id"
            f" WHERE {where} ORDER BY ledger.updated_at DESC, ledger.id DESC LIMIT ?",
            (_time(since), limit),
        )
        found = [
            ProblemRow(dt.date.fromisoformat(date), email, state, attempts, _when(at), code, text)
            for date, email, state, attempts, at, code, text in rows
        ]
        return totals, found

    def suppressed_since(self, since: dt.datetime, *, limit: int = 20) -> list[Suppressed]:
        rows = self._rows(
            "SELECT id, email, status, updated_at FROM subscribers"
            " WHERE status = 'bounced' AND updated_at >= ? ORDER BY updated_at DESC LIMIT ?",
            (_time(since), limit),
        )
        return [
            Suppressed(email, status, _when(at), self._reason(int(sid)))
            for sid, email, status, at in rows
        ]

    def _reason(self, subscriber_id: int) -> str:
        refused = self._rows(
            "SELECT last_code, last_text, updated_at FROM ledger WHERE subscriber_id = ?"
            " AND state = 'failed' AND last_code IS NOT NULL ORDER BY updated_at DESC LIMIT 1",
            (subscriber_id,),
        )
        bounce = self._rows(
            "SELECT detail, created_at FROM inbox_events WHERE subscriber_id = ?"
            " AND kind = 'bounce' ORDER BY created_at DESC LIMIT 1",
            (subscriber_id,),
        )
        return suppression_reason(
            Refusal(refused[0][0], refused[0][1], _when(refused[0][2])) if refused else None,
            BounceEvent(bounce[0][0], _when(bounce[0][1])) if bounce else None,
        )

    # Subscribers and the reply mailbox (``store.subscribers``, ``store.inbox``)

    def subscriber_counts(self) -> dict[str, int]:
        rows = self._rows("SELECT status, count(*) FROM subscribers GROUP BY status")
        found = {status: int(n) for status, n in rows}
        return {status: found.get(status, 0) for status in SUBSCRIBER_STATUSES}

    def people(self, ids: Collection[int]) -> dict[int, Person]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        sql = f"SELECT id, email, status FROM subscribers WHERE id IN ({marks})"
        return {sid: Person(email, status) for sid, email, status in self._rows(sql, list(ids))}

    def inbox_events(
        self, kinds: Collection[str], since: dt.datetime
    ) -> list[tuple[str, int | None, dict[str, Any], dt.datetime]]:
        marks = ", ".join("?" for _ in kinds)
        rows = self._rows(
            f"SELECT kind, subscriber_id, detail, created_at FROM inbox_events"
            f" WHERE kind IN ({marks}) AND created_at >= ? ORDER BY created_at DESC, id DESC",
            [*kinds, _time(since)],
        )
        return [
            (kind, sid, json.loads(detail) if detail else {}, _when(at))
            for kind, sid, detail, at in rows
        ]


def _when(value: str) -> dt.datetime:
    found = _from_time(value)
    assert found is not None  # a NOT NULL column
    return found


def _run(row: tuple[Any, ...]) -> RunRecord:
    run_id, command, date, started, finished, outcome, summary, counts = row
    return RunRecord(
        run_id,
        command,
        _from_date(date),
        _when(started),
        _from_time(finished),
        outcome,
        summary,
        _from_json(counts),
    )


def _ledger_row(row: tuple[Any, ...]) -> LedgerRow:
    values = dict(zip(LedgerRow.__slots__, row, strict=True))
    for name, value in values.items():
        if name.endswith("_at"):
            values[name] = _from_time(value)
    return LedgerRow(**values)
