"""The send loop's hot ledger statements as SQL text on the driver's cursor (issue 18).

Per message the send loop marks its row before the body goes out
(``mark_data_started_many``) and records it ``sent`` after the 250 to the final dot
(``record_sent_many``); per batch it claims pending rows (``claim_pending``). Through
SQLAlchemy Core each call built the statement, computed its cache key, expanded the
``IN`` list and coerced every parameter: about a sixth of a send's CPU in
``bench/send_profile.py``. Here each statement is SQL text made once per dialect (SQLite,
PostgreSQL) and run on the DB-API cursor of the caller's ``Connection``, inside the
caller's transaction:

    hot = HotLedger.of(conn)                                # one per dialect, cached
    marked = hot.mark_data_started_many(conn, ids, now, worker=w)   # -> set[int]
    lost = hot.record_sent_many(conn, sent, now, worker=w)          # -> set[int]
    rows = hot.claim_pending(conn, edition_id, w, limit, now)       # -> list[LedgerRow]

The conditions are exactly those of ``newsletter.store.ledger`` (states, ownership, the
lease by the database's clock), which keeps the SQLAlchemy versions as the reference;
``tests/deliver/test_ledger_hot.py`` runs both on SQLite and PostgreSQL and compares the
rows they leave and what they return. Times are bound through the schema's ``UTCDateTime``
for the dialect, so the stored values are the same bytes. A driver error becomes a
``StoreError`` (one line, as ``Store.begin`` gives).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Dialect

from newsletter.errors import StoreError
from newsletter.models import LedgerRow, SendResult
from newsletter.store.locks import LEASE_PREFIX, db_now
from newsletter.store.schema import UTCDateTime, ledger

# The columns a claim returns, in ``LedgerRow`` order, and which of them are times.
_COLUMNS = tuple(LedgerRow.__slots__)
_TIMES = frozenset(c.name for c in ledger.columns if isinstance(c.type, UTCDateTime))
# Every SQL text below is made of these constants and placeholders: values are parameters.
_OWNED = "state = 'sending' AND claimed_by = ?"
_LEASE = "EXISTS (SELECT 1 FROM locks WHERE name = ? AND holder = ? AND expires_at > {now})"


@dataclasses.dataclass(frozen=True, slots=True)
class HotLedger:
    """The three statements for one dialect; ``of(conn)`` gives the one for ``conn``."""

    postgres: bool
    bind_time: Callable[[dt.datetime | None], Any]
    read_time: Callable[[Any], dt.datetime | None]
    lease: str
    record_sent: str
    claim: str
    error: type[Exception]

    @classmethod
    def of(cls, conn: Connection) -> HotLedger:
        """The statements of ``conn``'s dialect (made once per dialect and driver)."""
        dialect = conn.dialect
        key = (dialect.name, dialect.driver)
        hot = _MADE.get(key)
        if hot is None:
            hot = _MADE[key] = cls._make(dialect)
        return hot

    @classmethod
    def _make(cls, dialect: Dialect) -> HotLedger:
        postgres = dialect.name == "postgresql"
        time_type = UTCDateTime().dialect_impl(dialect)
        bind = time_type.bind_processor(dialect) or (lambda value: value)
        read = time_type.result_processor(dialect, None) or (lambda value: value)
        now = str(db_now().compile(dialect=dialect))
        lease = _LEASE.format(now=now)
        record_sent = (
            "UPDATE ledger SET state = 'sent', message_id = ?, attempts = attempts + 1,"  # noqa: S608
            " next_attempt_at = NULL, sent_at = ?, last_code = ?, last_text = ?, updated_at = ?"
            f" WHERE id = ? AND {_OWNED}"
        )
        lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
        claim = (
            "WITH chosen AS (SELECT id FROM ledger WHERE edition_id = ? AND state = 'pending'"  # noqa: S608
            f" ORDER BY id LIMIT ?{lock})"
            " UPDATE ledger SET state = 'sending', claimed_at = ?, claimed_by = ?,"
            " updated_at = ?, data_started_at = NULL"
            " WHERE id IN (SELECT id FROM chosen) AND edition_id = ? AND state = 'pending'"
            f" AND {lease} RETURNING {', '.join(_COLUMNS)}"
        )
        dbapi = dialect.loaded_dbapi
        return cls(
            postgres=postgres,
            bind_time=bind,
            read_time=read,
            lease=lease,
            record_sent=_style(record_sent, postgres),
            claim=_style(claim, postgres),
            error=dbapi.Error,
        )

    def _sql(self, text: str) -> str:
        return _style(text, self.postgres)

    @contextmanager
    def _cursor(self, conn: Connection) -> Iterator[Any]:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            yield cursor
        except self.error as exc:  # the driver's own error: one line, as Store.begin says
            lines = str(exc).strip().splitlines()
            reason = lines[0] if lines else type(exc).__name__
            raise StoreError(f"database error: {reason}") from None
        finally:
            cursor.close()

    def mark_data_started_many(
        self, conn: Connection, row_ids: Sequence[int], now: dt.datetime, *, worker: str
    ) -> set[int]:
        """``ledger.mark_data_started_many``: one statement; the ids it marked."""
        if not row_ids:
            return set()
        ids = list(dict.fromkeys(int(i) for i in row_ids))
        marks = ", ".join("?" * len(ids))
        sql = self._sql(
            "UPDATE ledger SET updated_at = ?, data_started_at = ?"  # noqa: S608
            f" WHERE id IN ({marks}) AND {_OWNED} AND {self.lease} RETURNING id"
        )
        when = self.bind_time(now)
        with self._cursor(conn) as cursor:
            cursor.execute(sql, (when, when, *ids, worker, LEASE_PREFIX + worker, worker))
            return {int(row[0]) for row in cursor.fetchall()}

    def record_sent_many(
        self,
        conn: Connection,
        sent: Sequence[tuple[int, SendResult, str]],
        now: dt.datetime,
        *,
        worker: str,
    ) -> set[int]:
        """``ledger.record_sent_many``: one executemany; the ids not recorded (no longer
        ``worker``'s). When the rows changed are as many as the results (the usual case)
        every one was recorded and nothing more is asked."""
        if not sent:
            return set()
        when = self.bind_time(now)
        params = [
            (message_id, when, result.code, result.text[:2000], when, row_id, worker)
            for row_id, result, message_id in sent
        ]
        ids = [row_id for row_id, _result, _message_id in sent]
        with self._cursor(conn) as cursor:
            cursor.executemany(self.record_sent, params)
            if cursor.rowcount == len(set(ids)) == len(ids):
                return set()
            marks = ", ".join("?" * len(ids))
            cursor.execute(
                self._sql(
                    f"SELECT id FROM ledger WHERE id IN ({marks}) AND state = 'sent'"  # noqa: S608
                    " AND claimed_by = ? AND sent_at = ?"
                ),
                (*ids, worker, when),
            )
            recorded = {int(row[0]) for row in cursor.fetchall()}
        return set(ids) - recorded

    def claim_pending(
        self, conn: Connection, edition_id: int, worker: str, limit: int, now: dt.datetime
    ) -> list[LedgerRow]:
        """The pending part of ``ledger.claim`` (no ``only``): up to ``limit`` pending rows
        of the edition, lowest ids first, ``sending`` by ``worker`` if its lease is valid."""
        if limit <= 0:
            return []
        when = self.bind_time(now)
        params = (edition_id, limit, when, worker, when, edition_id)
        with self._cursor(conn) as cursor:
            cursor.execute(self.claim, (*params, LEASE_PREFIX + worker, worker))
            found = cursor.fetchall()
        read = self.read_time
        out = []
        for row in found:
            values: dict[str, Any] = {
                name: (read(value) if name in _TIMES else value)
                for name, value in zip(_COLUMNS, row, strict=True)
            }
            out.append(LedgerRow(**values))
        return out


_MADE: dict[tuple[str, str], HotLedger] = {}


def _style(sql: str, postgres: bool) -> str:
    """``?`` placeholders (sqlite3's) as psycopg's ``%s`` for PostgreSQL (whose SQL here
    holds no other ``%`` or ``?``)."""
    return sql.replace("?", "%s") if postgres else sql
