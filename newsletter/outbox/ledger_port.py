"""What the send loop needs from the ledger: a small data-source protocol.

Like listmonk's manager (``internal/manager``), which depends on a data-source interface
(``NextSubscribers``, ``UpdateCampaignStatus``) that the application implements, the send
loop knows nothing of SQL. ``newsletter.store.send_source.SqlSendSource`` implements these
over ``newsletter.store.ledger`` (ownership rules and states are documented there);
``Store.send_source()`` gives one, so callers pass their ``Store``.

Every method of ``SendSource`` is one transaction. ``SendSession`` holds one connection for
a whole run, because a claim per batch and a data-start mark per message must be cheap;
its marks and results are written inside ``transaction()``, its claim and re-check are
each one transaction of their own. Times are UTC ``datetime``; durations are seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Literal, Protocol

from newsletter.models import LedgerRow, SendResult, SmtpStage, Subscriber


class SendSession(Protocol):
    """One connection held for a run of the send loop (``newsletter.outbox.sendbatch``)."""

    def transaction(self) -> AbstractContextManager[None]:
        """A transaction: committed on leaving, rolled back on an exception."""
        ...

    def mark_data_started_many(
        self, row_ids: Sequence[int], now: dt.datetime, *, worker: str
    ) -> set[int]:
        """Mark rows "the body may go out now"; returns the ids still owned by ``worker``
        (with a valid lease): only those may be sent."""
        ...

    def record_sent_many(
        self, sent: Sequence[tuple[int, SendResult, str]], now: dt.datetime, *, worker: str
    ) -> set[int]:
        """Record ``(row id, result, Message-ID)`` as sent; returns ids no longer owned."""
        ...

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
        """Record a non-sent result; False when the row is no longer ``worker``'s."""
        ...

    def refusal_days(self, subscriber_id: int, since: dt.datetime) -> set[dt.date]:
        """The days since ``since`` on which the subscriber's address was refused."""
        ...

    def has_received(self, subscriber_id: int) -> bool:
        """Whether any message was ever sent to the subscriber."""
        ...

    def record_refusal(
        self,
        subscriber_id: int,
        code: int | None,
        stage: SmtpStage | None,
        text: str,
        now: dt.datetime,
    ) -> None:
        """Keep a hard refusal of the subscriber's address (its SMTP code, stage and text)."""
        ...

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
        """Add a counted bounce (``hard_score`` or ``soft_score`` points) to the subscriber's
        score, which resets after ``reset_days`` quiet days; past ``threshold`` the
        subscriber is suppressed (Mailman's bounce score)."""
        ...

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
        """Give up on rows queued over ``give_up_hours`` (at most once a minute of ``now``
        for an edition), then claim up to ``limit`` due rows.

        Raises ``LeaseLostError`` when nothing was claimed and ``worker`` holds no lease."""
        ...

    def sendable(
        self, rows: Sequence[LedgerRow], date: dt.date, now: dt.datetime, *, worker: str
    ) -> tuple[list[LedgerRow], dict[int, Subscriber]]:
        """Re-check suppression at send time: rows whose subscriber may no longer get
        edition ``date`` are suppressed; returns the rest and their subscribers by id."""
        ...

    def close(self) -> None:
        """Give the connection back."""
        ...


class SendSource(Protocol):
    """The ledger and leases as the send loop (``newsletter.outbox.send``) sees them."""

    def take_lease(self, worker: str, ttl_seconds: float) -> None:
        """Take (or renew) ``worker``'s lease for ``ttl_seconds`` by the database's clock."""
        ...

    def renew_lease(self, worker: str, ttl_seconds: float) -> bool:
        """Renew the lease; False when it expired or another holder has it."""
        ...

    def sent_since(self, since: dt.datetime) -> list[dt.datetime]:
        """When each message sent after ``since`` went out (for the hourly rate limit)."""
        ...

    def reap_orphans(self, lock_ttl_seconds: float, now: dt.datetime) -> int:
        """Return rows held by dead senders (or claimed over ``lock_ttl_seconds`` ago by the
        database's clock) to safe states; the number of rows."""
        ...

    def suppress(
        self, row_ids: Sequence[int], reason: str, now: dt.datetime, *, worker: str
    ) -> None:
        """Close rows without sending, giving ``reason``."""
        ...

    def release(self, row_ids: Sequence[int], now: dt.datetime, *, worker: str) -> None:
        """Give claimed rows back (pending), untouched."""
        ...

    def counts(self, edition_id: int) -> dict[str, int]:
        """The edition's rows by state."""
        ...

    def next_due(
        self, edition_id: int, *, include_unknown: bool, only: Sequence[int] | None = None
    ) -> dt.datetime | None:
        """When the next deferred (or resendable unknown) row falls due; None when none."""
        ...

    def finish(self, edition_id: int, worker: str, now: dt.datetime) -> None:
        """Return what ``worker`` still holds to safe states and release its lease."""
        ...

    def helper_name(self, label: str) -> str:
        """A worker id for a helper process (unique per host and process)."""
        ...

    def after_fork(self) -> None:
        """In a forked helper: never use the parent's connections."""
        ...

    def session(self) -> SendSession:
        """One connection for a run of the send loop; close it when done."""
        ...


class HasSendSource(Protocol):
    """What callers pass to ``send_edition``: anything that gives a ``SendSource``
    (``newsletter.store.db.Store`` does)."""

    def send_source(self) -> SendSource:
        """The ledger as the send loop sees it."""
        ...
