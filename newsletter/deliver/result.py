"""The outcome of one send attempt, as the ledger records it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from newsletter.deliver.classify import Outcome, Stage, is_throttle

# Called at the last moment before the server can have the message (SMTP: the body is
# written but not its final dot; Maildir: the file is in tmp/ but not yet in new/): from
# here on a lost connection or a crash leaves the message "unknown", so the sender records
# that moment. It answers whether to go on: False (the sender no longer owns the message)
# makes the transport abandon it (no final dot, or the tmp/ file removed): nothing is sent.
DataHook = Callable[[], Awaitable[bool]]
NOT_OWNED = "not sent: this sender no longer owns the message"


@dataclass(frozen=True, slots=True)
class RecipientResult:
    address: str
    state: Outcome
    code: int | None
    text: str


@dataclass(frozen=True, slots=True)
class SendResult:
    """``stage``: the SMTP stage the reply (or the lost connection) came at, when known."""

    state: Outcome
    code: int | None
    text: str
    recipients: tuple[RecipientResult, ...] = ()
    stage: Stage | None = None

    @property
    def throttled(self) -> bool:
        """The server asked the whole sender to slow down (421, 454, 4xx at connect/MAIL/DATA)."""
        return is_throttle(self.code, self.stage)
