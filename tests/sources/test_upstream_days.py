"""The whole day from upstreams that behave like the real ones (``tests/support/upstreams``):
HF paging and days that fill up, arXiv feed freshness, API windows, paging, flaky empty
pages, error entries, and the spacing of every request to arXiv.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import httpx

from newsletter.config import Settings
from newsletter.edition_day import complete_at, hf_days
from newsletter.pipeline.collect import CollectResult, collect
from newsletter.sources import arxiv_api
from tests.support.clock import FakeClock
from tests.support.fake_arxiv import UTC, FakeArxiv
from tests.support.fake_hf import FakeHF

MON, TUE, WED = dt.date(2026, 11, 30), dt.date(2026, 12, 1), dt.date(2026, 12, 2)
FRI, SAT, SUN = dt.date(2026, 11, 27), dt.date(2026, 11, 28), dt.date(2026, 11, 29)


def settings_for(hf: FakeHF, arxiv: FakeArxiv, sources: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "sources": sources,
        "hf_daily_url": hf.url + "/api/daily_papers",
        "arxiv_rss_url": arxiv.url + "/rss/",
        "arxiv_api_url": arxiv.url + "/api/query",
        "http_retries": 0,
        "http_timeout": 5.0,
        "arxiv_request_interval": 0.0,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)


async def run(settings: Settings, edition: dt.date) -> CollectResult:
    async with httpx.AsyncClient() as client:
        return await collect(settings, client, edition)


# --- Hugging Face


async def test_a_62_paper_hf_day_comes_whole(fake_hf: FakeHF, fake_arxiv: FakeArxiv) -> None:
    ids = fake_hf.add_day(MON, 62)
    result = await run(settings_for(fake_hf, fake_arxiv, "hf_daily"), TUE)
    [report] = result.reports
    assert (report.ok, report.count, report.notes) == (True, 62, ())
    assert sorted(p.arxiv_id for p in result.papers) == sorted(ids)
    first, last = fake_hf.requests()
    assert first.query == {"date": "2026-11-30", "limit": "100", "p": "0"}
    assert last.query["p"] == "1"  # a page of 62 might be a server's cap: an empty page ends it


async def test_a_62_paper_day_over_pages_of_50(fake_hf: FakeHF, fake_arxiv: FakeArxiv) -> None:
    """A server that gives 50 a page whatever ``limit`` asks: 50 is not "a short page"."""
    fake_hf.cap = 50
    ids = fake_hf.add_day(MON, 62)
    result = await run(settings_for(fake_hf, fake_arxiv, "hf_daily"), TUE)
    assert sorted(p.arxiv_id for p in result.papers) == sorted(ids)
    assert [h.query["p"] for h in fake_hf.requests()] == ["0", "1"]


async def test_a_long_day_is_followed_over_pages_until_a_short_one(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv
) -> None:
    fake_hf.add_day(MON, 230)
    result = await run(settings_for(fake_hf, fake_arxiv, "hf_daily"), TUE)
    assert result.reports[0].count == 230
    assert [h.query["p"] for h in fake_hf.requests()] == ["0", "1", "2"]


async def test_the_page_bound_is_a_warning_not_a_silent_cut(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv
) -> None:
    fake_hf.add_day(MON, 230)
    result = await run(settings_for(fake_hf, fake_arxiv, "hf_daily", hf_max_pages=2), TUE)
    [report] = result.reports
    assert (report.ok, report.count) == (True, 200)
    assert report.notes == (
        "hf_daily: the list of 2026-11-30 has more than 200 papers (HF_MAX_PAGES=2 pages);"
        " the rest is left out",
    )


async def test_a_failed_page_fails_the_source_and_keeps_nothing(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv
) -> None:
    fake_hf.add_day(MON, 230)
    fake_hf.fail("/api/daily_papers", status=500, where=lambda q: q.get("p") == "1")
    result = await run(settings_for(fake_hf, fake_arxiv, "hf_daily,arxiv_rss:cs.LG"), TUE)
    hf, _ = result.reports
    assert not hf.ok and hf.count == 0
    assert hf.error == "HTTP 500 after 1 attempt"
    assert not any(p.sources == ("hf_daily",) for p in result.papers)


async def test_monday_holds_friday_saturday_and_sunday(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    upstream_clock.set(dt.datetime(2026, 11, 30, 12, tzinfo=UTC))
    wanted = fake_hf.add_day(FRI, 20) + fake_hf.add_day(SAT, 5) + fake_hf.add_day(SUN, 7)
    fake_hf.add_day(MON, 30)  # Monday's own list goes into Tuesday's edition
    result = await run(settings_for(fake_hf, fake_arxiv, "hf_daily"), MON)
    assert sorted(p.arxiv_id for p in result.papers) == sorted(wanted)
    assert sorted({h.query["date"] for h in fake_hf.requests()}) == [
        "2026-11-27",
        "2026-11-28",
        "2026-11-29",
    ]


async def test_a_day_still_filling_is_never_asked_for(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    """At Tuesday 07:15 UTC Tuesday's list holds the few papers submitted so far;
    Tuesday's edition holds Monday's list, which is over."""
    monday = fake_hf.add_day(MON, 40)
    fake_hf.add_day(TUE, 40)
    result = await run(settings_for(fake_hf, fake_arxiv, "hf_daily"), TUE)
    assert sorted(p.arxiv_id for p in result.papers) == sorted(monday)
    assert {h.query["date"] for h in fake_hf.requests()} == {"2026-11-30"}
    assert hf_days(TUE) == (MON,)


# --- arXiv RSS


async def test_the_feed_dated_the_edition_is_taken(fake_hf: FakeHF, fake_arxiv: FakeArxiv) -> None:
    ids = fake_arxiv.announce(TUE, 12)
    fake_arxiv.announce(MON, 9)
    result = await run(settings_for(fake_hf, fake_arxiv, "arxiv_rss:cs.LG"), TUE)
    assert (result.reports[0].ok, result.reports[0].count) == (True, 12)
    assert sorted(p.arxiv_id for p in result.papers) == sorted(ids)


async def test_a_stale_feed_is_a_failure_naming_both_dates(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    fake_arxiv.announce(MON, 9)
    fake_arxiv.announce(TUE, 12)
    fake_arxiv.rebuild_delay = dt.timedelta(hours=3)  # still serving Monday's batch
    upstream_clock.set(complete_at(TUE) + dt.timedelta(minutes=30))
    result = await run(settings_for(fake_hf, fake_arxiv, "arxiv_rss:cs.LG"), TUE)
    [report] = result.reports
    assert not report.ok and result.papers == ()
    assert report.error == (
        "stale feed: it holds the announcement of Mon 30 Nov 2026"
        " (pubDate Mon, 30 Nov 2026 00:00:00 -0500, lastBuildDate 2026-11-30 08:00 UTC);"
        " expected the announcement of Tue 1 Dec 2026"
    )


async def test_a_feed_that_moved_on_says_the_day_is_gone(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    fake_arxiv.announce(TUE, 12)
    fake_arxiv.announce(WED, 3)
    upstream_clock.set(dt.datetime(2026, 12, 2, 7, 15, tzinfo=UTC))
    result = await run(settings_for(fake_hf, fake_arxiv, "arxiv_rss:cs.LG"), TUE)
    [report] = result.reports
    assert not report.ok
    assert report.error.startswith("the feed has moved on to the announcement of Wed 2 Dec 2026")
    assert report.error.endswith(
        "; the announcement of Tue 1 Dec 2026 is no longer in it (arXiv RSS keeps no archive)"
    )


# --- arXiv API


def window_of(hit_query: dict[str, str]) -> str:
    return hit_query["search_query"].split(" AND ", 1)[1]


async def test_the_api_asks_for_the_announcement_window(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv
) -> None:
    tuesday = fake_arxiv.announce(TUE, 15)
    monday = fake_arxiv.announce(MON, 10)
    result = await run(settings_for(fake_hf, fake_arxiv, "arxiv_api:cat:cs.LG"), TUE)
    assert result.reports[0].ok
    # Tuesday's window (Fri 14:00 to Mon 14:00 New York) and Monday's before it.
    [asked] = fake_arxiv.requests("/api/query")
    assert window_of(asked.query) == "submittedDate:[202611261900 TO 202611301859]"
    assert asked.query["search_query"].startswith("(cat:cs.LG) AND ")
    assert sorted(p.arxiv_id for p in result.papers) == sorted(tuesday + monday)


async def test_the_api_pages_with_start_up_to_a_bound(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.announce(TUE, 130)
    settings = settings_for(fake_hf, fake_arxiv, "arxiv_api:cat:cs.LG")
    result = await run(settings.model_copy(update={"arxiv_api_page_size": 50}), TUE)
    assert (result.reports[0].count, result.reports[0].notes) == (130, ())
    assert [h.query["start"] for h in fake_arxiv.requests("/api/query")] == ["0", "50", "100"]

    fake_arxiv.hits.clear()
    bounded = settings.model_copy(update={"arxiv_api_page_size": 50, "arxiv_api_max_pages": 2})
    result = await run(bounded, TUE)
    [report] = result.reports
    assert (report.ok, report.count) == (True, 100)
    assert report.notes == (
        "arxiv_api:cat:cs.LG: 130 results, only the first 100 fetched (ARXIV_API_MAX_PAGES=2"
        " pages of 50); narrow the query or raise the bound",
    )


async def test_an_empty_page_with_results_is_asked_again(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv
) -> None:
    ids = fake_arxiv.announce(TUE, 7)
    fake_arxiv.empty_answers = 2
    result = await run(
        settings_for(fake_hf, fake_arxiv, "arxiv_api:cat:cs.LG", http_retries=2), TUE
    )
    assert (result.reports[0].ok, result.reports[0].count) == (True, len(ids))
    assert len(fake_arxiv.requests("/api/query")) == 3


async def test_an_empty_page_that_stays_empty_fails_the_source(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.announce(TUE, 7)
    fake_arxiv.empty_answers = 10
    result = await run(
        settings_for(fake_hf, fake_arxiv, "arxiv_api:cat:cs.LG", http_retries=2), TUE
    )
    [report] = result.reports
    assert not report.ok
    assert report.error == (
        "arXiv answered an empty page at start=0 although totalResults=7, 3 times"
    )
    assert not result.arxiv_holiday  # a failure is never "nothing announced"


async def test_a_400_reports_arxivs_reason(fake_hf: FakeHF, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.error_400 = "syntax error in query: unbalanced parenthesis"
    result = await run(settings_for(fake_hf, fake_arxiv, "arxiv_api:cat:cs.LG AND (("), TUE)
    [report] = result.reports
    assert report.error == (
        f"HTTP 400 from {fake_arxiv.url}/api/query: syntax error in query: unbalanced parenthesis"
    )


def test_query_params_send_a_query_with_its_own_dates_as_written() -> None:
    params = arxiv_api.query_params("au:hinton AND submittedDate:[2026 TO 2027]", TUE, 0, 200)
    assert params["search_query"] == "au:hinton AND submittedDate:[2026 TO 2027]"


# --- holidays and politeness


async def test_a_holiday_is_every_arxiv_source_healthy_and_empty(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.holidays.add(TUE)
    fake_hf.add_day(MON, 4)
    result = await run(
        settings_for(fake_hf, fake_arxiv, "hf_daily,arxiv_rss:cs.LG,arxiv_api:cat:cs.LG"), TUE
    )
    assert [(r.ok, r.count) for r in result.reports] == [(True, 4), (True, 0), (True, 0)]
    assert result.arxiv_holiday


async def test_every_arxiv_request_is_spaced_hf_is_not_held_back(
    fake_hf: FakeHF, fake_arxiv: FakeArxiv
) -> None:
    interval = 0.15
    fake_arxiv.announce(TUE, 30)
    fake_arxiv.announce(MON, 30)
    fake_arxiv.empty_answers = 1  # one retry, paced like the rest
    fake_hf.add_day(MON, 150)
    sources = "hf_daily,arxiv_rss:cs.LG,arxiv_api:cat:cs.LG,arxiv_api:cat:cs.CL,arxiv_rss:stat"
    settings = settings_for(
        fake_hf,
        fake_arxiv,
        sources,
        http_retries=1,
        arxiv_request_interval=interval,
        arxiv_api_page_size=40,
    )
    result = await run(settings, TUE)
    assert all(r.ok for r in result.reports), result.reports
    hits = sorted(fake_arxiv.requests(), key=lambda h: h.arrived)
    assert len(hits) == 2 + 2 * 2 + 1  # two feeds, two queries of two pages, one retry
    for before, after in itertools.pairwise(hits):
        assert after.arrived - before.answered >= interval
    hf_hits = fake_hf.requests()
    assert len(hf_hits) == 2
    # Hugging Face went ahead while arXiv was being paced.
    assert max(h.arrived for h in hf_hits) < hits[-1].arrived
