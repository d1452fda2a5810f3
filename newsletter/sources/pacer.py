"""Politeness: requests to some hosts go one at a time, ``interval`` seconds apart.

arXiv's terms of use for its APIs and feeds ask for "no more than one request every
three seconds" and "a single connection at a time"
(https://info.arxiv.org/help/api/tou.html). One ``Pacer`` per run covers the hosts of
``ARXIV_RSS_URL`` and ``ARXIV_API_URL``; ``sources.http.get`` takes a slot for every
attempt, retries included. A request starts at least ``interval`` seconds after the
previous one *ended* (its body read), which is at least as polite as spacing the starts.
Hosts not listed (Hugging Face) pass straight through and may run in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

import httpx

logger = logging.getLogger(__name__)

Clock = Callable[[], float]  # monotonic seconds
Sleep = Callable[[float], Awaitable[None]]


def host_key(url: str | httpx.URL) -> str:
    """``host:port`` of ``url``, with the scheme's default port (``export.arxiv.org:443``)."""
    parsed = httpx.URL(url)
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme, 0)
    return f"{parsed.host}:{port}"


class Pacer:
    """Serialises and spaces requests to ``hosts`` (``host:port`` keys, see ``host_key``).

    ``clock`` (monotonic seconds) and ``sleep`` are injectable so that tests can run the
    arithmetic without waiting.
    """

    def __init__(
        self,
        hosts: Iterable[str],
        interval: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.hosts = frozenset(hosts)
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._lock = asyncio.Lock()
        self._last_end: float | None = None

    def applies(self, url: str | httpx.URL) -> bool:
        """Whether requests to ``url`` go through this pacer (arXiv's hosts)."""
        return host_key(url) in self.hosts

    @asynccontextmanager
    async def slot(self, url: str | httpx.URL) -> AsyncIterator[None]:
        """Hold the only slot for a paced host while one request runs (no-op for others)."""
        if not self.applies(url):
            yield
            return
        async with self._lock:
            if self._last_end is not None:
                wait = self._last_end + self.interval - self.clock()
                if wait > 0:
                    logger.debug("pacing %s: waiting %.2fs", host_key(url), wait)
                    await self.sleep(wait)
            try:
                yield
            finally:
                self._last_end = self.clock()
