"""Sending one claimed batch: concurrent sends through the transport, each result
recorded in small transactions (so a crash loses at most the messages in flight).

Before the server can have a message (SMTP: before the final dot; Maildir: before the
link into ``new/``) its row is marked in a write that requires the row to be this
sender's and its lease valid (``ledger.mark_data_started_many``). A row that does not
come back is not sent (the transport closes the connection without the final dot, or
removes the ``tmp/`` file), nothing is recorded for it, and the batch reports it in
``lost``: the send loop then stops claiming.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from newsletter.config import Settings
from newsletter.deliver import Transport
from newsletter.deliver.classify import (
    Refusal,
    counted_bounce,
    enhanced_status,
    is_throttle,
    next_attempt,
    refusal,
)
from newsletter.deliver.guard import SendGuard
from newsletter.deliver.ratelimit import Limiter
from newsletter.errors import DeliveryError
from newsletter.models import LedgerRow, Message, SendResult
from newsletter.outbox.ledger_port import SendSession

log = logging.getLogger(__name__)
FLUSH_EVERY = 8  # results recorded per transaction: bounds duplicates after a crash
Done = tuple[LedgerRow, SendResult, Message, Refusal | None]


def refusal_of(result: SendResult) -> Refusal | None:
    """What a 4xx/5xx reply says (``classify.refusal``); None for anything else."""
    if result.code is None or not 400 <= result.code < 600 or result.stage is None:
        return None
    return refusal(result.code, enhanced_status(result.text), result.stage, result.text)


class Batch:
    """Sends one claimed batch and records results in small transactions."""

    def __init__(
        self,
        session: SendSession,
        settings: Settings,
        transport: Transport,
        limiter: Limiter,
        worker: str,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.limiter = limiter
        self.worker = worker
        self.clock = clock
        self.done: list[Done] = []
        self.sent = 0
        self.failed = 0  # rows recorded failed in this run (not suppressions)
        self.guard = SendGuard(settings.send_pause_after_refusals, settings.send_failure_stop_share)
        self.marks: list[int] = []
        self.marks_committed: asyncio.Future[set[int]] | None = None
        self.lost: set[int] = set()  # rows this sender found it no longer owned
        # One connection held for the run: a mark per message must be cheap.
        self.session = session

    def close(self) -> None:
        """Give the held connection back."""
        self.session.close()

    async def run(self, pairs: Sequence[tuple[LedgerRow, Message]]) -> None:
        """Send every (row, message) pair concurrently within the limiter, in order, recording
        results in small transactions; the first error raised by a send is re-raised.

        As many tasks as the limiter may ever let through at once (``max_concurrency``)
        take the pairs in turn, instead of a task per message all but a few of which
        wait on the limiter: the same messages in flight, a task switch less each.

        Each task takes its next pair before sending the current one, and names it to the
        transport (``then``: on a pipelining SMTP connection its envelope goes out with
        this message's final dot); not when a rate limit may hold it back."""
        queue = collections.deque(pairs)
        look_ahead = self.limiter.per_second <= 0 and self.limiter.per_hour <= 0

        async def take_turns() -> None:
            following = queue.popleft() if queue else None
            while following is not None:
                row, message = following
                following = queue.popleft() if look_ahead and queue else None
                await self._one(row, message, following[1] if following else None)
                if following is None and queue:
                    following = queue.popleft()

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(len(queue), self.limiter.max_concurrency)):
                    group.create_task(take_turns())
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
            with self.session.transaction():
                marked = self.session.mark_data_started_many(
                    marks, self.clock(), worker=self.worker
                )
                self._record(self._take_done())
        except Exception as exc:  # each waiting message raises it
            committed.set_exception(exc)
            return
        committed.set_result(marked)

    async def _one(self, row: LedgerRow, message: Message, then: Message | None) -> None:
        async def on_data() -> bool:
            return await self._mark_data_started(row.id)

        meaning: Refusal | None
        async with self.limiter.slot():
            if self.guard.stopped:
                return  # not tried: the row goes back to pending when the sender stops
            try:
                result = await self.transport.send(message, on_data=on_data, then=then)
                meaning = refusal_of(result)
            except DeliveryError as exc:  # no connection or login: nothing went out
                self.guard.setup_failed(str(exc))
                result = SendResult("deferred", None, str(exc), stage="connect")
                meaning = Refusal("sender", None, "could not connect or log in")
        self.guard.note(result, meaning)
        if is_throttle(result.code, result.stage):
            await self.limiter.throttled()
        elif result.state == "sent":
            await self.limiter.succeeded()
        elif result.state == "deferred" and result.stage in ("rcpt", "body"):
            await self.limiter.recipient_deferred(message.to.rpartition("@")[2].lower())
        self.done.append((row, result, message, meaning))
        if len(self.done) >= FLUSH_EVERY:
            self.flush()

    def _take_done(self) -> list[Done]:
        done, self.done = self.done, []
        return done

    def flush(self) -> None:
        """Record the results waiting, in one transaction."""
        done = self._take_done()
        if not done:
            return
        with self.session.transaction():
            self._record(done)

    def _record(self, done: Sequence[Done]) -> None:
        """Store results, inside the caller's transaction."""
        done = [d for d in done if d[0].id not in self.lost]
        if not done:
            return
        now = self.clock()
        sent = [(r.id, res, m.message_id) for r, res, m, _ in done if res.state == "sent"]
        taken = self.session.record_sent_many(sent, now, worker=self.worker)
        self._taken(taken)
        self.sent += len(sent) - len(taken)
        for row, result, message, meaning in done:
            if result.state != "sent":
                self._record_one(row, result, message, meaning, now)

    def _record_one(
        self,
        row: LedgerRow,
        result: SendResult,
        message: Message,
        meaning: Refusal | None,
        now: dt.datetime,
    ) -> None:
        s = self.settings
        when = None
        if meaning is not None and meaning.scope == "sender":
            # Our own setup was refused: not the reader's doing, and fixable. The message is
            # kept, due at once for the run after the fix.
            text = f"not sent (our setup was refused, kept for the next run): {result.text}"
            result = SendResult("deferred", result.code, text, result.recipients, result.stage)
            when = now
        elif result.state == "deferred" or (
            result.state == "unknown" and s.unknown_policy == "resend"
        ):
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
                result = SendResult("failed", result.code, text, result.recipients, result.stage)
        if not self.session.record(
            row.id,
            result,
            now,
            next_attempt_at=when,
            worker=self.worker,
            message_id=message.message_id,
        ):
            self._taken({row.id})
            return
        if result.state == "failed":
            self.failed += 1
            if meaning is not None and meaning.scope == "recipient":
                self._count_refusal(row.subscriber_id, result, meaning, now)
        log.debug("%s: %s %s %s", message.to, result.state, result.code, result.text)

    def _count_refusal(
        self, subscriber_id: int, result: SendResult, meaning: Refusal, now: dt.datetime
    ) -> None:
        """A refusal of the reader's address at send time, scored by ``counted_bounce``."""
        s = self.settings
        since = now - dt.timedelta(days=s.bounce_reset_days)
        days = self.session.refusal_days(subscriber_id, since)
        kind = counted_bounce(
            meaning,
            from_report=False,
            received_before=self.session.has_received(subscriber_id),
            refused_on_another_day=bool(days - {now.date()}),
        )
        if meaning.bounce == "hard":
            self.session.record_refusal(subscriber_id, result.code, result.stage, result.text, now)
        if kind is not None:
            self.session.record_bounce(
                subscriber_id,
                kind,
                now,
                hard_score=s.bounce_hard_score,
                soft_score=s.bounce_soft_score,
                threshold=s.bounce_score_threshold,
                reset_days=s.bounce_reset_days,
            )

    def _taken(self, row_ids: set[int]) -> None:
        """Results that could not be recorded: the rows were reaped (the lease had expired)."""
        if row_ids:
            self.lost |= row_ids
            log.warning(
                "%d result(s) not recorded: their rows were taken back after this sender's"
                " lease expired (they stay as the reaper left them)",
                len(row_ids),
            )
