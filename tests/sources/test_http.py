"""sources.http.get against a real local HTTP server: retries, backoff, Retry-After."""

from __future__ import annotations

import datetime as dt
import socket

import httpx
import pytest

from newsletter.errors import SourceError
from newsletter.sources import http
from tests.support.clock import FakeClock
from tests.support.http import Reply, StubServer


async def get(url: str, sleeps: FakeClock, *, retries: int = 2, timeout: float = 5.0) -> bytes:
    async with httpx.AsyncClient() as client:
        return await http.get(
            client,
            url,
            source="test",
            retries=retries,
            timeout=timeout,
            user_agent="newsletter-test/1.0 (+contact)",
            backoff=0.01,
            sleep=sleeps.sleep,
        )


async def test_500_then_success_retries_once(server: StubServer, sleeps: FakeClock) -> None:
    url = server.script("/feed", Reply(500, b"oops"), Reply(200, b"payload"))
    assert await get(url, sleeps) == b"payload"
    assert len(server.requests("/feed")) == 2
    assert len(sleeps.slept) == 1
    assert 0.005 <= sleeps.slept[0] <= 0.01  # base 0.01 with jitter in [50%, 100%]


async def test_429_honours_retry_after_seconds(server: StubServer, sleeps: FakeClock) -> None:
    url = server.script("/feed", Reply(429, b"slow down", {"Retry-After": "7"}), Reply(200, b"ok"))
    assert await get(url, sleeps) == b"ok"
    assert sleeps.slept == [7.0]


async def test_retry_after_is_capped(server: StubServer, sleeps: FakeClock) -> None:
    url = server.script("/feed", Reply(503, headers={"Retry-After": "86400"}), Reply(200, b"ok"))
    assert await get(url, sleeps) == b"ok"
    assert sleeps.slept == [http.MAX_WAIT]


def test_retry_after_http_date() -> None:
    now = dt.datetime(2026, 11, 26, 8, 0, 0, tzinfo=dt.UTC)
    assert http.retry_after("Thu, 26 Nov 2026 08:00:30 GMT", now=now) == 30.0
    assert http.retry_after("Thu, 26 Nov 2026 07:59:00 GMT", now=now) == 0.0
    assert http.retry_after("Fri, 27 Nov 2026 08:00:00 GMT", now=now) == http.MAX_WAIT
    assert http.retry_after("soon", now=now) is None
    assert http.retry_after(None, now=now) is None


def test_backoff_grows_exponentially_with_jitter() -> None:
    for attempt in range(5):
        ceiling = 0.5 * 2**attempt
        delays = [http.backoff_delay(attempt, 0.5) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


async def test_persistent_500_raises_source_error(server: StubServer, sleeps: FakeClock) -> None:
    url = server.script("/feed", Reply(500, b"down"))
    with pytest.raises(SourceError) as info:
        await get(url, sleeps, retries=2)
    assert str(info.value) == "source test: HTTP 500 after 3 attempts"
    assert info.value.source == "test"
    assert len(server.requests("/feed")) == 3
    assert len(sleeps.slept) == 2
    assert sleeps.slept[1] > sleeps.slept[0] / 2  # second wait drawn from a doubled range


async def test_timeout_raises_one_line_source_error(server: StubServer, sleeps: FakeClock) -> None:
    url = server.script("/slow", Reply(200, b"late", delay=1.0))
    with pytest.raises(SourceError) as info:
        await get(url, sleeps, retries=1, timeout=0.2)
    assert str(info.value) == "source test: timed out after 0.2s after 2 attempts"
    assert "\n" not in str(info.value)


async def test_timeout_then_success(server: StubServer, sleeps: FakeClock) -> None:
    # A wide gap between the slow reply and the timeout, and a generous timeout for the
    # reply that must succeed: a loaded machine must not turn it into a failure.
    url = server.script("/slow", Reply(200, b"late", delay=4.0), Reply(200, b"fast"))
    assert await get(url, sleeps, retries=1, timeout=1.5) == b"fast"


async def test_404_is_not_retried(server: StubServer, sleeps: FakeClock) -> None:
    url = server.script("/missing", Reply(404, b"nope"))
    with pytest.raises(SourceError, match=r"HTTP 404 from http://127\.0\.0\.1:\d+/missing$"):
        await get(url, sleeps)
    assert len(server.requests("/missing")) == 1
    assert sleeps.slept == []


async def test_connection_refused_is_retried_then_reported(sleeps: FakeClock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceError, match=r"ConnectError.*after 3 attempts$"):
        await get(f"http://127.0.0.1:{port}/feed", sleeps)
    assert len(sleeps.slept) == 2


async def test_sends_user_agent_and_params(server: StubServer, sleeps: FakeClock) -> None:
    url = server.script("/feed", Reply(200, b"x"))
    async with httpx.AsyncClient() as client:
        await http.get(
            client,
            url,
            params={"date": "2026-11-26"},
            source="test",
            retries=0,
            timeout=5,
            user_agent="newsletter-test/1.0 (+contact)",
        )
    [seen] = server.requests("/feed")
    assert seen.headers["User-Agent"] == "newsletter-test/1.0 (+contact)"
    assert seen.query == {"date": "2026-11-26"}


async def test_oversized_body_is_refused(server: StubServer, sleeps: FakeClock) -> None:
    url = server.script("/big", Reply(200, b"x" * 5000))
    async with httpx.AsyncClient() as client:
        with pytest.raises(SourceError, match="larger than 1000 bytes"):
            await http.get(client, url, source="t", retries=0, timeout=5, max_bytes=1000)
