"""Sliding-window rate limits, kept in memory (one web process; good enough against bombing).

Time is passed in, so tests drive the clock. Memory stays bounded: stale keys are pruned,
and past ``max_keys`` the oldest keys are dropped. Thread-safe: the form handlers that
call it run in Starlette's threadpool.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key."""

    def __init__(self, limit: int, window: float, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, now: float) -> bool:
        """Record a hit for ``key`` at ``now`` (seconds) unless the key is over its limit."""
        if self.limit <= 0:
            return True
        with self._lock:
            return self._allow(key, now)

    def _allow(self, key: str, now: float) -> bool:
        hits = self._hits.get(key)
        if hits is None:
            hits = deque()
            self._hits[key] = hits
            self._evict()
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def _evict(self) -> None:
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)

    def __len__(self) -> int:
        return len(self._hits)
