"""Sliding-window rate limits, kept in memory (one web process; good enough against bombing).

Time is passed in, so tests drive the clock. Memory stays bounded: stale keys are pruned,
and past ``max_keys`` the oldest keys are dropped. Thread-safe: the form handlers that
call it run in Starlette's threadpool.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict, deque

IPV6_PREFIX = 64  # one host, or one household, gets a /64 (RFC 6177)


def client_key(ip: str) -> str:
    """The per-client limit's key: an IPv4 address as it is, an IPv6 address as its /64
    (a client holding a /64 could otherwise take a fresh address for every request)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def mailbox_key(email: str) -> str:
    """The per-address limit's key: the mailbox an address reaches, lower-cased, without a
    ``+tag`` (RFC 5233 subaddress: ``victim+1@`` and ``victim+2@`` are one inbox)."""
    local, _, domain = email.lower().rpartition("@")
    return f"{local.partition('+')[0] or local}@{domain}"


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
