"""Sending one claimed batch: concurrent sends through the transport, each result
recorded in small transactions (so a crash loses at most the messages in flight).

Before a body goes out its row is marked in a write that requires the row to be this
sender's and its lease valid (``ledger.mark_data_started_many``). A row that does not
come back is not sent (the transport resets before DATA), nothing is recorded for it,
and the batch reports it in ``lost``: the send loop then stops claiming.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from newsletter.config import Settings
from newsletter.deliver import SendResult, Transport
from newsletter.deliver.classify import bounce_kind, next_attempt
from newsletter.deliver.ratelimit import Limiter
from newsletter.models import Message
from newsletter.store import ledger, subscribers
from newsletter.store.db import Store
from newsletter.store.ledger import LedgerRow

log = logging.getLogger(__name__)
FLUSH_EVERY = 8  # results recorded per transaction: bounds duplicates after a crash


class Batch:
    """Sends one claimed batch and records results in small transactions."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        transport: Transport,
        limiter: Limiter,
        worker: str,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.store = store
        self.settings = settings
        self.transport = transport
        self.limiter = limiter
        self.worker = worker
        self.clock = clock
        self.done: list[tuple[LedgerRow, SendResult, Message]] = []
        self.sent = 0
        self.marks: list[int] = []
        self.marks_committed: asyncio.Future[set[int]] | None = None
        self.lost: set[int] = set()  # rows this sender found it no longer owned
        # One connection held for the run: a mark per message must be cheap.
        self.conn = store.engine.connect()

    def close(self) -> None:
        self.conn.close()

    async def run(self, pairs: Sequence[tuple[LedgerRow, Message]]) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for row, message in pairs:
                    group.create_task(self._one(row, message))
        except BaseExceptionGroup as failed:
            first = failed.exceptions[0]
            raise first from (first.__cause__ if isinstance(first, Exception) else None)
        finally:
            self.flush()

    async def _mark_data_started(self, row_id: int) -> bool:
        """Commit "the body may go out" before it does: one transaction for every message
        that reaches DATA in the same turn of the event loop (and results waiting).
        ``False``: the row is no longer this sender's, so its body must not go out."""
        self.marks.append(row_id)
        if self.marks_committed is None:
            self.marks_committed = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(self._commit_marks)
        marked = await asyncio.shield(self.marks_committed)
        if row_id not in marked:
            self.lost.add(row_id)
            log.warning("row %d is no longer this sender's: its message is not sent", row_id)
            return False
        return True

    def _commit_marks(self) -> None:
        marks, self.marks = self.marks, []
        committed, self.marks_committed = self.marks_committed, None
        assert committed is not None
        try:
            with self.conn.begin():
                marked = ledger.mark_data_started_many(
                    self.conn, marks, self.clock(), worker=self.worker
                )
                self._record(self._take_done())
        except Exception as exc:  # each waiting message raises it
            committed.set_exception(exc)
            return
        committed.set_result(marked)

    async def _one(self, row: LedgerRow, message: Message) -> None:
        async def on_data() -> bool:
            return await self._mark_data_started(row.id)

        async with self.limiter.slot():
            result = await self.transport.send(message, on_data=on_data)
        if result.throttled:
            await self.limiter.throttled()
        elif result.state == "sent":
            await self.limiter.succeeded()
        self.done.append((row, result, message))
        if len(self.done) >= FLUSH_EVERY:
            self.flush()

    def _take_done(self) -> list[tuple[LedgerRow, SendResult, Message]]:
        done, self.done = self.done, []
        return done

    def flush(self) -> None:
        done = self._take_done()
        if not done:
            return
        with self.conn.begin():
            self._record(done)

    def _record(self, done: Sequence[tuple[LedgerRow, SendResult, Message]]) -> None:
        """Store results, inside the caller's transaction."""
        s = self.settings
        retry_unknown = s.unknown_policy == "resend"
        conn = self.conn
        done = [d for d in done if d[0].id not in self.lost]
        if done:
            now = self.clock()
            sent = [(r.id, res, m.message_id) for r, res, m in done if res.state == "sent"]
            taken = ledger.record_sent_many(conn, sent, now, worker=self.worker)
            self._taken(taken)
            self.sent += len(sent) - len(taken)
            for row, result, message in done:
                if result.state == "sent":
                    continue
                when = None
                if result.state == "deferred" or (result.state == "unknown" and retry_unknown):
                    when = next_attempt(
                        now,
                        row.created_at,
                        row.attempts + 1,
                        base=s.retry_base_delay,
                        cap=s.retry_max_delay,
                        give_up_after_hours=s.give_up_after_hours,
                    )
                    if when is None:
                        text = f"gave up after {s.give_up_after_hours:g}h: {result.text}"
                        result = SendResult("failed", result.code, text, result.recipients)
                if not ledger.record(
                    conn,
                    row.id,
                    result,
                    now,
                    next_attempt_at=when,
                    worker=self.worker,
                    message_id=message.message_id,
                ):
                    self._taken({row.id})
                    continue
                kind = bounce_kind(result.code, result.text) if result.state == "failed" else None
                if kind is not None:
                    subscribers.record_bounce(
                        conn,
                        row.subscriber_id,
                        kind,
                        hard_score=self.settings.bounce_hard_score,
                        soft_score=self.settings.bounce_soft_score,
                        threshold=self.settings.bounce_score_threshold,
                        reset_days=self.settings.bounce_reset_days,
                        now=now,
                    )
                log.debug("%s: %s %s %s", message.to, result.state, result.code, result.text)

    def _taken(self, row_ids: set[int]) -> None:
        """Results that could not be recorded: the rows were reaped (the lease had expired)."""
        if row_ids:
            self.lost |= row_ids
            log.warning(
                "%d result(s) not recorded: their rows were taken back after this sender's"
                " lease expired (they stay as the reaper left them)",
                len(row_ids),
            )
