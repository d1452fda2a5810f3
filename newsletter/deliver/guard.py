"""When a sender must stop sending: bookkeeping over its results, no I/O.

A run stops claiming (what is in flight finishes; the rest stays ``pending`` for the
next run) when

- a refusal concerns our own setup (``Refusal.scope == "sender"``: relay, login,
  protocol, the receiving system), or the transport could not connect or log in at all:
  every other message would be refused the same way;
- ``pause_after`` refusals of the message itself are identical (same code, enhanced
  status and stage: a relay that refuses the content refuses it for every reader);
- more than ``failure_share`` of the messages tried (sent, failed or unknown; judged once
  at least ``MIN_TRIED`` were) failed permanently.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Literal

from newsletter.deliver.classify import Refusal, enhanced_status
from newsletter.models import SendResult
from newsletter.words import plural

MIN_TRIED = 20
StopKind = Literal["setup", "refusals", "failures"]


@dataclass
class SendGuard:
    """Decides when a sender must stop (the rules are in the module docstring): a
    refusal of our setup, ``pause_after`` identical refusals of the message, or more than
    ``failure_share`` of the messages tried failed. ``stopped`` holds the reason once set."""

    pause_after: int
    failure_share: float
    tried: int = 0
    failed: int = 0
    refusals: collections.Counter[tuple[int | None, str | None, str | None]] = field(
        default_factory=collections.Counter
    )
    stopped: str | None = None  # why sending stopped (one line), once it has
    kind: StopKind | None = None

    def setup_failed(self, text: str) -> None:
        """The transport could not connect or log in: nothing was sent."""
        self._stop("setup", f"{text}; fix the setup and run again (nothing is lost)")

    def note(self, result: SendResult, meaning: Refusal | None) -> None:
        """Count one result (``meaning``: what its refusal says, if it was one)."""
        where = f"at {result.stage}" if result.stage else ""
        if meaning is not None and meaning.scope == "sender" and result.state == "failed":
            self._stop(
                "setup",
                f"the mail server refused {where}: {result.code} {result.text} "
                f"({meaning.reason}); fix the setup and run again (the message is kept)",
            )
            return
        if result.state in ("sent", "failed", "unknown"):
            self.tried += 1
        if result.state != "failed":
            return
        self.failed += 1
        if meaning is not None and meaning.scope == "message":
            key = (result.code, enhanced_status(result.text), result.stage)
            self.refusals[key] += 1
            if self.refusals[key] >= self.pause_after:
                self._stop(
                    "refusals",
                    f"{plural(self.refusals[key], 'message')} refused the same way {where}: "
                    f"{result.code} {result.text} (the message itself, not the readers);"
                    " sending paused, the rest are kept for the next run",
                )
        if self.tried >= MIN_TRIED and self.failed / self.tried > self.failure_share:
            self._stop(
                "failures",
                f"{self.failed} of {self.tried} messages failed permanently (more than"
                f" SEND_FAILURE_STOP_SHARE={self.failure_share:g}); sending stopped, the rest"
                " are kept for the next run",
            )

    def _stop(self, kind: StopKind, reason: str) -> None:
        if self.stopped is None:
            self.stopped, self.kind = " ".join(reason.split()), kind
