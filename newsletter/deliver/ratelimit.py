"""Sending pace: concurrency, messages per second and per hour, and throttle backoff.

When the server asks the sender to slow down (``classify.is_throttle``: 421 or 454
anywhere, a 4xx at connect, MAIL or DATA) the whole sender backs off: the number of
messages in flight is halved, the per-second rate is halved, and nothing starts
for ``pause`` seconds. Each run of ``recover_after`` successes then gives back
one connection and a quarter of the rate (additive increase, multiplicative
decrease), so a throttled relay sees the pressure drop at once and return slowly.

A 4xx at RCPT (greylisting, a full mailbox) defers that recipient only and does not
slow anyone else down, unless deferrals pile up across many domains: at least half of
the last ``DEFERRAL_WINDOW`` results deferred, over ``DEFERRAL_DOMAINS`` or more domains,
is read as the receiving side (or our reputation) asking everyone to slow down.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

from newsletter.words import plural

log = logging.getLogger(__name__)

HOUR = 3600.0
DEFERRAL_WINDOW = 20
DEFERRAL_DOMAINS = 3


class Limiter:
    """Paces a send: at most ``concurrency`` messages in flight, ``per_second`` and
    ``per_hour`` messages, slowing down when the server throttles (``classify.is_throttle``)
    and for a domain that defers recipients. Rates are messages per second / per hour."""

    def __init__(
        self,
        concurrency: int,
        per_second: float = 0.0,
        per_hour: int = 0,
        *,
        pause: float = 5.0,
        recover_after: int = 20,
        sent_in_last_hour: Iterable[float] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``sent_in_last_hour``: ages in seconds of messages already sent (earlier runs)."""
        self.max_concurrency = concurrency
        self.concurrency = concurrency
        self.per_second = per_second
        self.per_hour = per_hour
        self.pause = pause
        self.recover_after = recover_after
        self.rate_factor = 1.0
        self.throttle_events = 0
        self._clock = clock
        self._in_flight = 0
        self._changed = asyncio.Condition()
        self._paused_until = 0.0
        self._next_start = 0.0
        self._successes = 0
        now = clock()
        self._hour = collections.deque(sorted(now - age for age in sent_in_last_hour if age < HOUR))
        # recent results: the domain of a deferred recipient, or None for a success
        self._recent: collections.deque[str | None] = collections.deque(maxlen=DEFERRAL_WINDOW)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one in-flight slot, started no faster than the rate limits allow."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._in_flight < self.concurrency)
            self._in_flight += 1
        try:
            await self._wait_for_rate()
            yield
        finally:
            async with self._changed:
                self._in_flight -= 1
                # Wake as many waiters as there are free slots: the first ones in line are
                # the ones ``notify_all`` would let through; waking the whole batch for
                # each message cost about 20 futile task switches per message.
                self._changed.notify(max(self.concurrency - self._in_flight, 0))

    async def _wait_for_rate(self) -> None:
        while True:
            now = self._clock()
            wait = max(self._paused_until - now, 0.0)
            if self.per_second > 0:
                wait = max(wait, self._next_start - now)
            if self.per_hour > 0:
                while self._hour and self._hour[0] <= now - HOUR:
                    self._hour.popleft()
                if len(self._hour) >= self.per_hour:
                    wait = max(wait, self._hour[0] + HOUR - now)
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        now = self._clock()
        if self.per_second > 0:
            interval = 1.0 / (self.per_second * self.rate_factor)
            self._next_start = max(self._next_start, now) + interval
        if self.per_hour > 0:
            self._hour.append(now)

    async def throttled(self) -> None:
        """The server asked us to slow down: halve the pace and pause everyone."""
        async with self._changed:
            self.throttle_events += 1
            self.concurrency = max(1, self.concurrency // 2)
            self.rate_factor = max(0.05, self.rate_factor / 2)
            self._paused_until = self._clock() + self.pause
            self._successes = 0
            log.info(
                "server throttling: %s, rate x%.2f, pausing %.1fs",
                plural(self.concurrency, "connection"),
                self.rate_factor,
                self.pause,
            )

    async def recipient_deferred(self, domain: str) -> None:
        """One recipient deferred at RCPT (or after the body): its own matter, unless
        deferrals across many domains fill the recent window (then: ``throttled``)."""
        self._recent.append(domain)
        deferred = [d for d in self._recent if d is not None]
        if len(deferred) * 2 >= DEFERRAL_WINDOW and len(set(deferred)) >= DEFERRAL_DOMAINS:
            self._recent.clear()
            log.info("deferrals across %d domains: slowing the whole sender", len(set(deferred)))
            await self.throttled()

    async def succeeded(self) -> None:
        """One message accepted: after enough in a row, give back some pace."""
        self._recent.append(None)
        async with self._changed:
            self._successes += 1
            if self._successes < self.recover_after:
                return
            self._successes = 0
            if self.concurrency < self.max_concurrency or self.rate_factor < 1.0:
                self.concurrency = min(self.max_concurrency, self.concurrency + 1)
                self.rate_factor = min(1.0, self.rate_factor * 1.25)
                self._changed.notify_all()
