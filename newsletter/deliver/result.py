"""The outcome of one send attempt, as the ledger records it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from newsletter.deliver.classify import Outcome, is_throttle

# Called just before the message body goes out (after 354): from here on a lost
# connection leaves the message "unknown", so the sender records that moment.
DataHook = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RecipientResult:
    address: str
    state: Outcome
    code: int | None
    text: str


@dataclass(frozen=True, slots=True)
class SendResult:
    state: Outcome
    code: int | None
    text: str
    recipients: tuple[RecipientResult, ...] = ()

    @property
    def throttled(self) -> bool:
        return is_throttle(self.code)
