"""Politeness to arXiv: one request at a time, ``ARXIV_REQUEST_INTERVAL`` apart, retries
included (``sources.pacer.Pacer`` through ``sources.http.get``).

The pacer's own arithmetic runs on a fake clock; the spacing of real requests is asserted
from the arrival times a real server on 127.0.0.1 records.
"""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest

from newsletter.errors import SourceError
from newsletter.sources import http
from newsletter.sources.pacer import Pacer, host_key
from tests.support.clock import FakeClock
from tests.support.http import Reply, StubServer


def test_host_key_includes_the_port() -> None:
    assert host_key("https://export.arxiv.org/api/query?x=1") == "export.arxiv.org:443"
    assert host_key("http://rss.arxiv.org/rss/cs.LG") == "rss.arxiv.org:80"
    assert host_key("http://127.0.0.1:8081/rss/") == "127.0.0.1:8081"


async def test_requests_to_paced_hosts_start_interval_after_the_last_one_ended() -> None:
    clock = FakeClock()
    pacer = Pacer(
        ["export.arxiv.org:443", "rss.arxiv.org:443"], 3.0, clock=clock.monotonic, sleep=clock.sleep
    )
    spans: list[tuple[str, float, float]] = []

    async def request(url: str, takes: float) -> None:
        async with pacer.slot(url):
            start = clock.monotonic()
            clock.advance(seconds=takes)  # the request itself takes this long
            await asyncio.sleep(0)  # let the others try to get in meanwhile
            spans.append((url, start, clock.monotonic()))

    await asyncio.gather(
        request("https://export.arxiv.org/api/query?a", 0.5),
        request("https://rss.arxiv.org/rss/cs.LG", 1.0),
        request("https://export.arxiv.org/api/query?b", 0.2),
    )
    assert len(spans) == 3
    for (_, _, ended), (_, started, _) in itertools.pairwise(spans):
        assert started - ended >= 3.0
    assert clock.slept == [3.0, 3.0]  # the first request did not wait


async def test_other_hosts_are_not_paced() -> None:
    clock = FakeClock()
    pacer = Pacer(["export.arxiv.org:443"], 3.0, clock=clock.monotonic, sleep=clock.sleep)
    for _ in range(3):
        async with pacer.slot("https://huggingface.co/api/daily_papers"):
            pass
    assert clock.slept == []
    assert not pacer.applies("https://huggingface.co/api/daily_papers")


async def test_a_zero_interval_still_allows_one_request_at_a_time() -> None:
    clock = FakeClock()
    pacer = Pacer(["a.example:443"], 0.0, clock=clock.monotonic, sleep=clock.sleep)
    inside = 0
    most = 0

    async def request() -> None:
        nonlocal inside, most
        async with pacer.slot("https://a.example/x"):
            inside += 1
            most = max(most, inside)
            await clock.sleep(0.01)  # the request takes a while: the others try to get in
            inside -= 1

    await asyncio.gather(*(request() for _ in range(4)))
    assert most == 1


async def test_real_requests_and_their_retries_are_spaced(
    server: StubServer, sleeps: FakeClock
) -> None:
    interval = 0.2
    feed = server.script("/rss/cs.LG", Reply(503, b"busy"), Reply(200, b"feed"))
    query = server.script("/api/query", Reply(200, b"atom"))
    pacer = Pacer([host_key(server.url)], interval)

    async with httpx.AsyncClient() as client:

        async def fetch(url: str) -> bytes:
            return await http.get(
                client, url, source="t", retries=2, timeout=5, backoff=0.001, pacer=pacer
            )

        bodies = await asyncio.gather(fetch(feed), fetch(query), fetch(query), fetch(query))
    assert sorted(bodies) == [b"atom", b"atom", b"atom", b"feed"]
    hits = sorted(server.requests(), key=lambda seen: seen.arrived)
    assert len(hits) == 5  # four requests and one retry
    for before, after in itertools.pairwise(hits):
        # Each request arrived after the previous one was answered, plus the interval:
        # one at a time, and spaced, whatever the backoff of the retry said.
        assert after.arrived - before.answered >= interval, (before, after)


async def test_4xx_reason_comes_from_the_answer_when_the_source_can_explain_it(
    server: StubServer, sleeps: FakeClock
) -> None:
    url = server.script("/api/query", Reply(400, b"<reason>bad query syntax</reason>"))

    def explain(body: bytes) -> str | None:
        return body.decode().removeprefix("<reason>").removesuffix("</reason>") or None

    async with httpx.AsyncClient() as client:
        with pytest.raises(SourceError) as info:
            await http.get(client, url, source="t", retries=2, timeout=5, explain=explain)
    assert str(info.value).endswith("HTTP 400 from " + url + ": bad query syntax")
    assert len(server.requests("/api/query")) == 1
