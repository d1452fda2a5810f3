"""The test's clock: one object for wall time (``now``) and monotonic time, whose sleeps
are recorded and advance both instead of waiting.

    clock = FakeClock(dt.datetime(2026, 12, 1, 7, 15, tzinfo=dt.UTC))
    clock()                  -> the aware datetime "now" (pass ``clock`` where code wants
                                ``clock=`` / ``now=clock()``)
    clock.monotonic()        -> seconds (float), for code that takes a monotonic clock
    await clock.sleep(2.5)   -> records 2.5 in ``clock.slept`` and moves both clocks on
    clock.advance(hours=1) / clock.set(moment)

``FakeClock(now, tick=0.05)`` moves on by ``tick`` seconds each time it is read, for code
that must see time pass between its steps (a retry falling due later in the same run)
without the test depending on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import datetime as dt

DEFAULT_NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


class FakeClock:
    """A clock that moves only when the test moves it or someone sleeps on it."""

    def __init__(
        self, now: dt.datetime = DEFAULT_NOW, *, monotonic: float = 100.0, tick: float = 0.0
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.now = now
        self._monotonic = monotonic
        self.tick = tick
        self.slept: list[float] = []

    def __call__(self) -> dt.datetime:
        now = self.now
        if self.tick:
            self.advance(seconds=self.tick)
        return now

    def monotonic(self) -> float:
        now = self._monotonic
        if self.tick:
            self.advance(seconds=self.tick)
        return now

    def set(self, now: dt.datetime) -> None:
        self._monotonic += (now - self.now).total_seconds()
        self.now = now

    def advance(self, **delta: float) -> None:
        """Move both clocks on by ``datetime.timedelta(**delta)``."""
        step = dt.timedelta(**delta)
        self.now += step
        self._monotonic += step.total_seconds()

    async def sleep(self, seconds: float) -> None:
        """Stands in for ``asyncio.sleep``: records the wait, advances, yields once."""
        self.slept.append(seconds)
        self.advance(seconds=seconds)
        await asyncio.sleep(0)
