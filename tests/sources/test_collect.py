"""Each source's fetch and the whole collect() stage over real HTTP on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsletter.config import Settings
from newsletter.errors import SourceError
from newsletter.pipeline.collect import CollectResult, SourceReport, collect, dedupe
from newsletter.sources import arxiv_api, arxiv_rss, hf_daily, sample
from newsletter.sources.base import FetchContext
from tests.support.fake_arxiv import feed_dated
from tests.support.http import Reply, StubServer, running_stub

DAY = dt.date(2026, 11, 26)  # a Thursday: its edition holds Wednesday's HF list
HF_FILE = "hf_daily_papers_2026-08-18.json"
RSS_FILE = "arxiv_rss_stat_2024-03-26.xml"
API_FILE = "arxiv_api_query_au-del_maestro_2016-10-09.xml"


def settings_for(server: StubServer, sources: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "sources": sources,
        "hf_daily_url": server.url + "/api/daily_papers",
        "arxiv_rss_url": server.url + "/rss/",
        "arxiv_api_url": server.url + "/api/query",
        "http_retries": 0,
        "http_timeout": 5.0,
        "user_agent": "newsletter-test/0.1 (+ops@example.org)",
        "arxiv_request_interval": 0.0,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def run(settings: Settings, date: dt.date = DAY) -> CollectResult:
    async with httpx.AsyncClient() as client:
        return await collect(settings, client, date)


def rss_of_the_day(real_fixtures: Path) -> bytes:
    """The captured feed, dated as arXiv serves it on DAY."""
    return feed_dated((real_fixtures / RSS_FILE).read_bytes(), DAY)


def api_answer(real_fixtures: Path) -> bytes:
    """The captured answer as a whole result: its 10 entries are all there is."""
    raw = (real_fixtures / API_FILE).read_bytes()
    return raw.replace(b">31</opensearch:totalResults>", b">10</opensearch:totalResults>")


# --- fetch, per source


async def test_hf_fetch_asks_for_the_day_before(server: StubServer, real_fixtures: Path) -> None:
    body = (real_fixtures / HF_FILE).read_bytes()
    server.script("/api/daily_papers", Reply(200, body, {"Content-Type": "application/json"}))
    settings = settings_for(server, "hf_daily")
    async with httpx.AsyncClient() as client:
        fetched = await hf_daily.fetch(FetchContext.for_settings(client, settings), "", DAY)
    assert fetched.papers == hf_daily.parse(body)
    first, second = server.requests("/api/daily_papers")
    assert first.query == {"date": "2026-11-25", "limit": "100", "p": "0"}
    assert first.headers["User-Agent"] == settings.user_agent
    # The scripted server answers the same page again: no new paper, so the list ends.
    assert second.query["p"] == "1"


async def test_rss_fetch_appends_the_categories(server: StubServer, real_fixtures: Path) -> None:
    body = rss_of_the_day(real_fixtures)
    server.script("/rss/cs.LG+cs.CL", Reply(200, body))
    settings = settings_for(server, "arxiv_rss:cs.LG+cs.CL")
    async with httpx.AsyncClient() as client:
        context = FetchContext.for_settings(client, settings)
        fetched = await arxiv_rss.fetch(context, "cs.LG+cs.CL", DAY)
    assert fetched.papers == arxiv_rss.parse(body)
    assert len(server.requests("/rss/cs.LG+cs.CL")) == 1


def test_rss_url_joins_with_or_without_slash() -> None:
    for base in ("http://127.0.0.1:9/rss", "http://127.0.0.1:9/rss/"):
        settings = Settings(_env_file=None, arxiv_rss_url=base)  # type: ignore[call-arg]
        assert arxiv_rss.feed_url(settings, "stat") == "http://127.0.0.1:9/rss/stat"


async def test_api_fetch_sends_the_query(server: StubServer, real_fixtures: Path) -> None:
    body = api_answer(real_fixtures)
    server.script("/api/query", Reply(200, body))
    settings = settings_for(server, 'arxiv_api:all:"test-time adaptation"')
    async with httpx.AsyncClient() as client:
        context = FetchContext.for_settings(client, settings)
        fetched = await arxiv_api.fetch(context, 'all:"test-time adaptation"', DAY)
    assert fetched.papers == arxiv_api.parse(body)
    [seen] = server.requests("/api/query")
    expected = arxiv_api.query_params('all:"test-time adaptation"', DAY, 0, 200)
    assert seen.query == expected


async def test_sample_fetch_reads_bundle_or_path(tmp_path: Path) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with httpx.AsyncClient() as client:
        bundled = await sample.fetch(FetchContext.for_settings(client, settings), "", DAY)
        assert len(bundled.papers) == 30
        own = tmp_path / "day.json"
        own.write_text(json.dumps([{"paper": {"id": "2611.00077", "title": "Mine"}}]))
        mine = Settings(_env_file=None, sample_path=own)  # type: ignore[call-arg]
        fetched = await sample.fetch(FetchContext.for_settings(client, mine), "", DAY)
        assert [p.title for p in fetched.papers] == ["Mine"]
        missing = Settings(_env_file=None, sample_path=tmp_path / "nope.json")  # type: ignore[call-arg]
        with pytest.raises(SourceError, match=r"^source sample: cannot read .*nope\.json"):
            await sample.fetch(FetchContext.for_settings(client, missing), "", DAY)


# --- collect


async def test_collect_all_sources_ok(server: StubServer, real_fixtures: Path) -> None:
    server.script("/api/daily_papers", Reply(200, (real_fixtures / HF_FILE).read_bytes()))
    server.script("/rss/stat", Reply(200, rss_of_the_day(real_fixtures)))
    server.script("/api/query", Reply(200, api_answer(real_fixtures)))
    result = await run(settings_for(server, "hf_daily,arxiv_rss:stat,arxiv_api:au:del_maestro"))
    assert [(r.name, r.ok, r.count) for r in result.reports] == [
        ("hf_daily", True, 29),
        ("arxiv_rss:stat", True, 62),
        ("arxiv_api:au:del_maestro", True, 10),
    ]
    assert len(result.papers) == 29 + 62 + 10  # three disjoint days: nothing to merge
    assert not result.all_failed and not result.nothing_announced
    assert all(r.seconds >= 0 for r in result.reports)
    upvotes = [p.upvotes for p in result.papers if p.upvotes is not None]
    assert upvotes == sorted(upvotes, reverse=True) and len(upvotes) == 29
    rest = [p.arxiv_id for p in result.papers[29:]]
    assert rest == sorted(rest) and all(p.upvotes is None for p in result.papers[29:])


async def test_one_failing_source_is_isolated(server: StubServer, real_fixtures: Path) -> None:
    server.script("/api/daily_papers", Reply(200, (real_fixtures / HF_FILE).read_bytes()))
    server.script("/rss/cs.LG", Reply(503, b"maintenance"))
    server.script("/api/query", Reply(200, b"<feed><entry>"))  # truncated: a parse error
    result = await run(settings_for(server, "hf_daily,arxiv_rss:cs.LG,arxiv_api:cat:cs.LG"))
    hf, rss, api = result.reports
    assert (hf.ok, hf.count) == (True, 29)
    assert not rss.ok and rss.error == "HTTP 503 after 1 attempt"
    assert not api.ok and api.error.startswith("malformed XML")
    assert result.failed == (rss, api)
    assert len(result.papers) == 29
    assert not result.all_failed


async def test_all_failed(server: StubServer) -> None:
    server.script("/api/daily_papers", Reply(500))
    server.script("/rss/cs.LG", Reply(500))
    result = await run(settings_for(server, "hf_daily,arxiv_rss:cs.LG"))
    assert result.all_failed and not result.nothing_announced
    assert result.papers == ()
    assert all("HTTP 500" in r.error for r in result.reports)


async def test_nothing_announced(server: StubServer) -> None:
    server.script("/api/daily_papers", Reply(200, b"[]"))
    server.script("/rss/cs.LG", Reply(500))
    result = await run(settings_for(server, "hf_daily,arxiv_rss:cs.LG"))
    assert result.nothing_announced and not result.all_failed


async def test_dedupe_across_hf_and_arxiv(server: StubServer, real_fixtures: Path) -> None:
    rss_raw = rss_of_the_day(real_fixtures)
    target = arxiv_rss.parse(rss_raw)[3]
    hf_day = [
        {
            "paper": {
                "id": target.arxiv_id,
                "title": target.title,
                "summary": "A short HF summary.",
                "authors": [{"name": "Someone Else"}],
                "upvotes": 41,
                "githubRepo": "https://github.com/example/repo",
                "publishedAt": "2024-03-25T17:00:00.000Z",
            }
        },
        {"paper": {"id": "2403.99999", "title": "Only on HF", "upvotes": 2}},
    ]
    server.script("/api/daily_papers", Reply(200, json.dumps(hf_day).encode()))
    server.script("/rss/stat", Reply(200, rss_raw))
    result = await run(settings_for(server, "hf_daily,arxiv_rss:stat"))
    assert len(result.papers) == 62 + 1
    merged = result.papers[0]
    assert merged.arxiv_id == target.arxiv_id
    assert merged.upvotes == 41 and merged.github_repo == "https://github.com/example/repo"
    assert merged.categories == target.categories
    assert merged.abstract == target.abstract  # the longer record's text wins
    assert merged.authors == target.authors
    assert merged.sources == ("hf_daily", "arxiv_rss")
    assert [p.arxiv_id for p in result.papers[:2]] == [target.arxiv_id, "2403.99999"]


def test_dedupe_is_independent_of_arrival_order(real_fixtures: Path) -> None:
    papers = hf_daily.parse((real_fixtures / HF_FILE).read_bytes())
    papers += arxiv_rss.parse((real_fixtures / RSS_FILE).read_bytes())
    forward = [p.arxiv_id for p in dedupe(papers)]
    assert forward == [p.arxiv_id for p in dedupe(reversed(papers))]
    assert len(forward) == len(set(forward))


async def test_collect_sample_needs_no_network() -> None:
    settings = Settings(_env_file=None, sources="sample", hf_daily_url="http://127.0.0.1:9/x")  # type: ignore[call-arg]
    result = await run(settings, sample.SAMPLE_DATE)
    assert result.reports[0] == SourceReport(
        "sample", True, 30, "", result.reports[0].seconds, "sample"
    )
    assert len(result.papers) == 30


async def test_hf_and_arxiv_are_fetched_concurrently(server: StubServer) -> None:
    # Each answer is held until both requests are in flight: run one after the other,
    # the first would wait out the barrier's timeout and get a 500. (arXiv's requests are
    # paced among themselves; Hugging Face, on another host, is not held back.)
    gate = threading.Barrier(2, timeout=3)
    feed = b"<rss version='2.0'><channel><pubDate>Thu, 26 Nov 2026 00:00:00 -0500</pubDate>"
    with running_stub() as arxiv:
        server.script("/api/daily_papers", Reply(200, b"[]", gate=gate))
        arxiv.script("/rss/cs.LG", Reply(200, feed + b"</channel></rss>", gate=gate))
        settings = settings_for(
            server,
            "hf_daily,arxiv_rss:cs.LG",
            arxiv_rss_url=arxiv.url + "/rss/",
            arxiv_api_url=arxiv.url + "/api/query",
        )
        result = await run(settings)
    assert [(r.ok, r.error) for r in result.reports] == [(True, ""), (True, "")]
