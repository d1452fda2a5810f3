"""The ledger as the send loop sees it: ``newsletter.outbox.ledger_port`` over SQL.

Each ``SqlSendSource`` method is one transaction over the functions of
``newsletter.store.ledger`` (states, claims and ownership are documented there),
``locks`` (leases), ``subscribers`` and ``inbox`` (refusals and bounce scores).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection

from newsletter.errors import LeaseLostError
from newsletter.models import LedgerRow, SendResult, SmtpStage, Subscriber
from newsletter.store import inbox, ledger, locks, subscribers
from newsletter.store.db import store_errors
from newsletter.store.ledger_hot import HotLedger

if TYPE_CHECKING:  # db.py makes these (Store.send_source)
    from newsletter.store.db import Store


# How often a sender gives up on rows queued too long (``ledger.give_up``, by the ``now``
# it is given): the statement visits every waiting row of the edition, so once per claimed
# batch made a send quadratic (7.8 ms per claim at 20,000 waiting rows).
GIVE_UP_EVERY = dt.timedelta(seconds=60)


class SqlSendSession:
    """One connection held for a run (``ledger_port.SendSession``): the batch's claim,
    re-check, marks and results. On SQLite (``NullPool``) a connection per transaction
    costs a connect and four PRAGMAs; the claim and re-check of every batch took two."""

    def __init__(self, store: Store) -> None:
        self.conn: Connection = store.engine.connect()
        self.hot = HotLedger.of(self.conn)
        self._gave_up: dict[int, dt.datetime] = {}  # edition id -> when last given up

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction on the held connection; errors as ``Store.begin`` gives them."""
        with store_errors(), self.conn.begin():
            yield

    def mark_data_started_many(
        self, row_ids: Sequence[int], now: dt.datetime, *, worker: str
    ) -> set[int]:
        """See ``ledger.mark_data_started_many`` (run as ``ledger_hot``'s SQL text)."""
        return self.hot.mark_data_started_many(self.conn, row_ids, now, worker=worker)

    def record_sent_many(
        self, sent: Sequence[tuple[int, SendResult, str]], now: dt.datetime, *, worker: str
    ) -> set[int]:
        """See ``ledger.record_sent_many`` (run as ``ledger_hot``'s SQL text)."""
        return self.hot.record_sent_many(self.conn, sent, now, worker=worker)

    def record(
        self,
        row_id: int,
        result: SendResult,
        now: dt.datetime,
        *,
        next_attempt_at: dt.datetime | None,
        worker: str,
        message_id: str,
    ) -> bool:
        """See ``ledger.record``."""
        return ledger.record(
            self.conn,
            row_id,
            result,
            now,
            next_attempt_at=next_attempt_at,
            worker=worker,
            message_id=message_id,
        )

    def refusal_days(self, subscriber_id: int, since: dt.datetime) -> set[dt.date]:
        """See ``inbox.refusal_days``."""
        return inbox.refusal_days(self.conn, subscriber_id, since)

    def has_received(self, subscriber_id: int) -> bool:
        """See ``ledger.has_received``."""
        return ledger.has_received(self.conn, subscriber_id)

    def record_refusal(
        self,
        subscriber_id: int,
        code: int | None,
        stage: SmtpStage | None,
        text: str,
        now: dt.datetime,
    ) -> None:
        """See ``inbox.record_refusal``."""
        inbox.record_refusal(self.conn, subscriber_id, code, stage, text, now)

    def record_bounce(
        self,
        subscriber_id: int,
        kind: Literal["hard", "soft"],
        now: dt.datetime,
        *,
        hard_score: float,
        soft_score: float,
        threshold: float,
        reset_days: int,
    ) -> None:
        """See ``subscribers.record_bounce``."""
        subscribers.record_bounce(
            self.conn,
            subscriber_id,
            kind,
            hard_score=hard_score,
            soft_score=soft_score,
            threshold=threshold,
            reset_days=reset_days,
            now=now,
        )

    def claim(
        self,
        edition_id: int,
        worker: str,
        limit: int,
        now: dt.datetime,
        *,
        give_up_hours: float,
        include_unknown: bool,
        only: Sequence[int] | None,
        retries: bool,
        lease_seconds: float,
    ) -> list[LedgerRow]:
        """``ledger.give_up`` (at most once per ``GIVE_UP_EVERY`` of ``now`` for an
        edition) then ``ledger.claim``, in one transaction; ``LeaseLostError`` when nothing
        was claimed and the lease is gone."""
        last = self._gave_up.get(edition_id)
        give_up = last is None or not last <= now < last + GIVE_UP_EVERY
        with self.transaction():
            conn = self.conn
            if give_up:
                ledger.give_up(
                    conn,
                    edition_id,
                    now - dt.timedelta(hours=give_up_hours),
                    now,
                    hours=give_up_hours,
                    include_unknown=include_unknown,
                )
            rows = ledger.claim(
                conn,
                edition_id,
                worker,
                limit,
                now,
                include_unknown=include_unknown,
                only=only,
                retries=retries,
                hot=self.hot,
            )
            if not rows and not locks.has_lease(conn, worker):
                raise LeaseLostError(worker, lease_seconds)
        if give_up:
            self._gave_up[edition_id] = now
        return rows

    def sendable(
        self, rows: Sequence[LedgerRow], date: dt.date, now: dt.datetime, *, worker: str
    ) -> tuple[list[LedgerRow], dict[int, Subscriber]]:
        """Suppress rows whose subscriber is gone or not sendable on ``date``."""
        with self.transaction():
            conn = self.conn
            found = subscribers.get_many(conn, [r.subscriber_id for r in rows])
            keep: list[LedgerRow] = []
            for row in rows:
                sub = found.get(row.subscriber_id)
                if sub is None or not subscribers.is_sendable(sub, date):
                    reason = sub.status if sub else "removed"
                    ledger.suppress(conn, row.id, reason, now, worker=worker)
                else:
                    keep.append(row)
        return keep, found

    def close(self) -> None:
        """Give the connection back to the pool."""
        self.conn.close()


class SqlSendSource:
    """``ledger_port.SendSource`` over a ``Store``: each method one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def take_lease(self, worker: str, ttl_seconds: float) -> None:
        """See ``locks.take_lease``."""
        with self.store.begin() as conn:
            locks.take_lease(conn, worker, ttl_seconds)

    def renew_lease(self, worker: str, ttl_seconds: float) -> bool:
        """See ``locks.renew_lease``."""
        with self.store.begin() as conn:
            return locks.renew_lease(conn, worker, ttl_seconds)

    def sent_since(self, since: dt.datetime) -> list[dt.datetime]:
        """See ``ledger.sent_since``."""
        with self.store.begin() as conn:
            return ledger.sent_since(conn, since)

    def reap_orphans(self, lock_ttl_seconds: float, now: dt.datetime) -> int:
        """Rows claimed by senders whose lease has expired by the database's clock, whose
        process on this host has died, or claimed longer than ``lock_ttl_seconds`` ago."""
        with self.store.begin() as conn:
            dead = [w for w in ledger.claimers(conn) if locks.holder_is_dead(w)]
            stale_before = locks.database_now(conn) - dt.timedelta(seconds=lock_ttl_seconds)
            return ledger.reap(conn, stale_before, now, dead_workers=dead)

    def suppress(
        self, row_ids: Sequence[int], reason: str, now: dt.datetime, *, worker: str
    ) -> None:
        """See ``ledger.suppress``."""
        with self.store.begin() as conn:
            for row_id in row_ids:
                ledger.suppress(conn, row_id, reason, now, worker=worker)

    def release(self, row_ids: Sequence[int], now: dt.datetime, *, worker: str) -> None:
        """See ``ledger.release``."""
        with self.store.begin() as conn:
            ledger.release(conn, row_ids, now, worker=worker)

    def counts(self, edition_id: int) -> dict[str, int]:
        """See ``ledger.counts``."""
        with self.store.begin() as conn:
            return ledger.counts(conn, edition_id)

    def next_due(
        self, edition_id: int, *, include_unknown: bool, only: Sequence[int] | None = None
    ) -> dt.datetime | None:
        """See ``ledger.next_due``."""
        with self.store.begin() as conn:
            return ledger.next_due(conn, edition_id, include_unknown=include_unknown, only=only)

    def finish(self, edition_id: int, worker: str, now: dt.datetime) -> None:
        """Whatever ``worker`` still holds (cancelled mid-batch) goes back to a safe state."""
        with self.store.begin() as conn:
            long_ago = now - dt.timedelta(days=3650)
            ledger.reap(conn, long_ago, now, edition_id=edition_id, dead_workers=[worker])
            locks.release(conn, locks.lease_name(worker), worker)

    def helper_name(self, label: str) -> str:
        """See ``locks.holder_id``."""
        return locks.holder_id(label)

    def after_fork(self) -> None:
        """Drop the parent's pooled connections without closing them (they are shared)."""
        self.store.engine.dispose(close=False)

    def session(self) -> SqlSendSession:
        """One connection for a run of the send loop."""
        return SqlSendSession(self.store)
