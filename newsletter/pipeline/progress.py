"""Progress of a run as the pipeline reports it: stage started, advanced, done.

cron mails whatever a job prints, so without a terminal nothing but each stage's
one summary line is logged (INFO), with progress at DEBUG (``-v``) every tenth of
the way (``PlainProgress``). The CLI passes a terminal bar instead
(``newsletter.cli.progress``).

``ProgressTransport`` wraps a delivery transport so that every message the send
loop hands over advances the progress, without the send loop knowing about progress.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Protocol

from newsletter.deliver import DataHook, SendResult, Transport
from newsletter.models import Message

# The name log lines have always carried (log files and filters match on it).
log = logging.getLogger("newsletter.progress")


class Progress(Protocol):
    """How a run reports its stages: started (with a total when known), advanced, done."""

    def start(self, stage: str, total: int | None = None) -> None:
        """A stage begins; ``total`` items when known."""
        ...

    def advance(self, count: int = 1) -> None:
        """``count`` more items of the stage are done."""
        ...

    def done(self, line: str) -> None:
        """The stage ended; ``line`` is its summary."""
        ...

    def close(self) -> None:
        """The run is over: release the terminal."""
        ...


class PlainProgress:
    """Log lines only: the summary of each stage at INFO, progress steps at DEBUG."""

    def __init__(self, logger: logging.Logger = log, steps: int = 10) -> None:
        self.logger = logger
        self.steps = steps
        self.stage = ""
        self.total: int | None = None
        self.completed = 0
        self._next_report = 0

    def start(self, stage: str, total: int | None = None) -> None:
        """A stage begins; progress is logged every ``1/steps`` of ``total``."""
        self.stage, self.total, self.completed = stage, total, 0
        self._next_report = self._step()

    def _step(self) -> int:
        if not self.total:
            return 0
        return max(1, -(-self.total // self.steps))

    def advance(self, count: int = 1) -> None:
        """``count`` more items done; logged at DEBUG when a step is passed."""
        self.completed += count
        if self.total and self.completed >= self._next_report:
            self.logger.debug("%s: %d/%d", self.stage, self.completed, self.total)
            while self._next_report <= self.completed:
                self._next_report += self._step()

    def done(self, line: str) -> None:
        """Log the stage's summary ``line`` at INFO."""
        self.logger.info("%s", line)
        self.stage, self.total, self.completed = "", None, 0

    def close(self) -> None:
        """Nothing to release."""
        return None


class ProgressTransport:
    """A ``Transport`` that advances ``progress`` by one for every message it sends."""

    def __init__(self, inner: Transport, progress: Progress) -> None:
        self.inner = inner
        self.progress = progress

    async def __aenter__(self) -> ProgressTransport:
        await self.inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.inner.__aexit__(exc_type, exc, tb)

    async def send(
        self, message: Message, *, on_data: DataHook | None = None, then: Message | None = None
    ) -> SendResult:
        """Send through the wrapped transport, then advance the progress by one."""
        try:
            return await self.inner.send(message, on_data=on_data, then=then)
        finally:
            self.progress.advance()
