"""The pure parsers, on every real captured response and on broken or hostile input."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from newsletter.errors import ParseError
from newsletter.models import Paper
from newsletter.sources import arxiv_api, arxiv_rss, hf_daily
from tests.support.http import Reply, StubServer

ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})$")

HF_FILES = {
    "hf_daily_papers_2026-08-18.json": 29,
    "hf_daily_papers_2026-08-11.json": 20,
    "hf_daily_papers_2025-10-15.json": 26,
    "hf_daily_papers_2024-06-14.json": 28,
}
API_FILES = {
    "arxiv_api_query_au-del_maestro_2016-10-09.xml": 10,
    "arxiv_api_idlist_1111.2011v2_2016-10-09.xml": 1,
    "arxiv_api_query_all-Einstein_2018-02-05.xml": 10,
    "arxiv_api_idlist_1707.08567_2026-04-12.xml": 1,
}
RSS_FILE = "arxiv_rss_stat_2024-03-26.xml"


def assert_clean(papers: list[Paper], source: str) -> None:
    for paper in papers:
        assert ID.match(paper.arxiv_id), paper.arxiv_id
        assert paper.title and paper.title == " ".join(paper.title.split())
        assert "\n" not in paper.abstract and "  " not in paper.abstract
        assert not paper.abstract.startswith(("arXiv:", "Abstract:"))
        assert "Announce Type" not in paper.abstract
        assert paper.authors and all(a == a.strip() and a for a in paper.authors)
        assert paper.published is not None and paper.published.utcoffset() == dt.timedelta(0)
        assert paper.sources == (source,)


# --- Hugging Face Daily Papers


@pytest.mark.parametrize(("name", "count"), HF_FILES.items())
def test_hf_daily_fixture(real_fixtures: Path, name: str, count: int) -> None:
    raw = (real_fixtures / name).read_bytes()
    items = json.loads(raw)
    papers = hf_daily.parse(raw)
    assert len(papers) == count == len(items)
    assert_clean(papers, "hf_daily")
    for paper, item in zip(papers, items, strict=True):
        source = item["paper"]
        assert paper.arxiv_id == source["id"]
        assert paper.upvotes == source["upvotes"]
        assert paper.authors == tuple(a["name"].strip() for a in source["authors"])
        assert paper.title == " ".join(source["title"].split())
        assert paper.ai_summary == (
            " ".join(source["ai_summary"].split()) if "ai_summary" in source else None
        )
        assert paper.ai_keywords == tuple(source.get("ai_keywords", ()))
        assert paper.github_repo == (source.get("githubRepo") or None)
        assert paper.project_page == (source.get("projectPage") or None)
        assert paper.categories == ()


def test_hf_fields_that_come_and_go(real_fixtures: Path) -> None:
    old = hf_daily.parse((real_fixtures / "hf_daily_papers_2024-06-14.json").read_bytes())
    mixed = hf_daily.parse((real_fixtures / "hf_daily_papers_2025-10-15.json").read_bytes())
    new = hf_daily.parse((real_fixtures / "hf_daily_papers_2026-08-18.json").read_bytes())
    assert all(p.ai_summary is None and not p.ai_keywords and not p.github_repo for p in old)
    assert sum(p.ai_summary is not None for p in mixed) == 7
    assert all(p.ai_summary and p.ai_keywords for p in new)
    # 2024 titles were hard-wrapped: "...Self-supervised\n  Pre-training"
    raw_titles = [
        i["paper"]["title"]
        for i in json.loads((real_fixtures / "hf_daily_papers_2024-06-14.json").read_bytes())
    ]
    assert any("\n" in t for t in raw_titles)


def hf_item(**paper: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "2611.00001",
        "title": "A title",
        "summary": "An abstract.",
        "authors": [{"name": "Ada Lovelace"}],
        "upvotes": 3,
        "publishedAt": "2026-11-25T17:00:00.000Z",
    }
    base.update(paper)
    return {"paper": base}


def test_hf_hostile_title_stays_plain_text_and_crlf_collapses() -> None:
    raw = json.dumps(
        [hf_item(title="<script>alert(1)</script> Q&A\r\nBcc: victim@example.org\r\n  end")]
    )
    [paper] = hf_daily.parse(raw)
    assert paper.title == "<script>alert(1)</script> Q&A Bcc: victim@example.org end"
    assert "\r" not in paper.title and "\n" not in paper.title


def test_hf_version_suffix_and_unsafe_links_dropped() -> None:
    raw = json.dumps([hf_item(id="2611.00002v3", githubRepo="javascript:alert(1)", projectPage="")])
    [paper] = hf_daily.parse(raw)
    assert paper.arxiv_id == "2611.00002"
    assert paper.github_repo is None and paper.project_page is None


def test_hf_skips_unusable_items_keeps_the_rest() -> None:
    raw = json.dumps([hf_item(), {"paper": {"title": "no id"}}, "junk", hf_item(id="2611.00009")])
    assert [p.arxiv_id for p in hf_daily.parse(raw)] == ["2611.00001", "2611.00009"]


def test_hf_bad_timestamp_keeps_paper_without_date() -> None:
    [paper] = hf_daily.parse(json.dumps([hf_item(publishedAt="yesterday")]))
    assert paper.published is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'[{"paper": {"id": "2611.00001",', "not JSON"),
        (b"<html>rate limited</html>", "not JSON"),
        (b'{"error": "Invalid date"}', "expected a JSON list of papers, got dict"),
        (b'[{"paper": 1}, {"nope": 2}]', "none of the 2 items has a paper id and title"),
        (b"\xff\xfe\x00garbage", "not JSON"),
    ],
)
def test_hf_malformed_is_one_line_parse_error(raw: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        hf_daily.parse(raw)
    assert info.value.source == "hf_daily"
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_hf_empty_day_is_not_an_error() -> None:
    assert hf_daily.parse(b"[]") == []


# --- arXiv RSS


def test_rss_fixture_keeps_new_and_cross_only(real_fixtures: Path) -> None:
    raw = (real_fixtures / RSS_FILE).read_bytes()
    papers = arxiv_rss.parse(raw)
    kinds = [p.announce_type for p in papers]
    assert (kinds.count("new"), kinds.count("cross"), len(papers)) == (35, 27, 62)
    assert_clean(papers, "arxiv_rss")
    assert len({p.arxiv_id for p in papers}) == 62
    text = raw.decode()
    for paper in papers:
        # every kept item is announced as new/cross in the raw feed, never as a replacement
        assert re.search(
            rf"arXiv:{re.escape(paper.arxiv_id)}v\d+ Announce Type: (new|cross) ", text
        ), paper.arxiv_id
        assert paper.categories and all("." in c or "-" in c for c in paper.categories)
        assert paper.published == dt.datetime(2024, 3, 26, 4, 0, tzinfo=dt.UTC)
    replaced = re.findall(r"arXiv:(\S+?)v\d+ Announce Type: replace", text)
    assert len(replaced) == 61
    assert not {p.arxiv_id for p in papers} & set(replaced)


def test_rss_fields_of_first_item(real_fixtures: Path) -> None:
    raw = (real_fixtures / RSS_FILE).read_text()
    first = raw.split("<item>")[1]
    paper = arxiv_rss.parse(raw)[0]
    creators = re.search(r"<dc:creator>(.*?)</dc:creator>", first).group(1)  # type: ignore[union-attr]
    assert paper.authors == tuple(n.strip() for n in creators.split(","))
    assert paper.categories == tuple(re.findall(r"<category>(.*?)</category>", first))
    abstract = re.search(r"Abstract: (.*?)</description>", first, re.S).group(1)  # type: ignore[union-attr]
    assert paper.abstract == " ".join(abstract.split())


def rss(item: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        "<title>cs.LG updates on arXiv.org</title>"
        "<pubDate>Thu, 26 Nov 2026 00:00:00 -0500</pubDate>"
        f"{item}</channel></rss>"
    ).encode()


def rss_item(title: str, description: str, kind: str = "new") -> str:
    return (
        f"<item><title>{title}</title><link>https://arxiv.org/abs/2611.01234</link>"
        f"<description>{description}</description>"
        "<guid isPermaLink='false'>oai:arXiv.org:2611.01234v2</guid>"
        "<category>cs.LG</category><category>stat.ML</category>"
        f"<arxiv:announce_type>{kind}</arxiv:announce_type>"
        "<dc:creator>Ada Lovelace, Alan Turing</dc:creator></item>"
    )


def test_rss_hostile_title_and_math_survive_as_plain_text() -> None:
    item = rss_item(
        "&lt;script&gt;alert(1)&lt;/script&gt; Fast &amp;amp; Safe\r\n  Learning",
        "arXiv:2611.01234v2 Announce Type: new \nAbstract: We show $x&lt;y$ and\n"
        "$\\alpha &gt; 0$ for &lt;b&gt;all&lt;/b&gt; inputs.",
    )
    [paper] = arxiv_rss.parse(rss(item))
    assert paper.title == "<script>alert(1)</script> Fast &amp; Safe Learning"
    assert paper.abstract == "We show $x<y$ and $\\alpha > 0$ for <b>all</b> inputs."
    assert paper.arxiv_id == "2611.01234"
    assert paper.authors == ("Ada Lovelace", "Alan Turing")
    assert paper.categories == ("cs.LG", "stat.ML")
    assert paper.published == dt.datetime(2026, 11, 26, 5, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("kind", ["replace", "replace-cross", ""])
def test_rss_drops_replacements(kind: str) -> None:
    assert arxiv_rss.parse(rss(rss_item("T", "arXiv:x Announce Type: x Abstract: y", kind))) == []


def test_rss_empty_day_is_not_an_error() -> None:
    assert arxiv_rss.parse(rss("")) == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (rss(rss_item("T", "x"))[:-30], "malformed XML"),
        (b"<rss><channel><item><title>a & b</title></item></channel></rss>", "malformed XML"),
        (b"<html><body>Service unavailable</body></html>", "not an RSS feed"),
        (b"", "not an RSS feed"),
    ],
)
def test_rss_malformed_is_one_line_parse_error(raw: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        arxiv_rss.parse(raw)
    assert info.value.source == "arxiv_rss"
    assert reason in str(info.value) and "\n" not in str(info.value)


# --- arXiv API


@pytest.mark.parametrize(("name", "count"), API_FILES.items())
def test_api_fixture(real_fixtures: Path, name: str, count: int) -> None:
    raw = (real_fixtures / name).read_bytes()
    papers = arxiv_api.parse(raw)
    assert len(papers) == count
    assert_clean(papers, "arxiv_api")
    text = raw.decode()
    ids = re.findall(r"<id>https?://arxiv\.org/abs/(\S+?)(?:v\d+)?</id>", text)
    assert [p.arxiv_id for p in papers] == ids
    primaries = re.findall(r'<arxiv:primary_category[^>]*term="([^"]+)"', text)
    assert [p.categories[0] for p in papers] == primaries
    comments = len(re.findall(r"<arxiv:comment", text))
    assert sum(p.comment is not None for p in papers) == comments


def test_api_both_dialects_give_the_same_fields(real_fixtures: Path) -> None:
    old = arxiv_api.parse(
        (real_fixtures / "arxiv_api_idlist_1111.2011v2_2016-10-09.xml").read_bytes()
    )[0]
    new = arxiv_api.parse(
        (real_fixtures / "arxiv_api_idlist_1707.08567_2026-04-12.xml").read_bytes()
    )[0]
    assert old.arxiv_id == "1111.2011" and new.arxiv_id == "1707.08567"
    assert old.title.startswith("Quantum Criticality for Extended Nodes") and "  " not in old.title
    assert new.categories == ("cs.IT",)
    assert new.comment and new.comment.startswith("44 pages")
    assert len(new.authors) == 34 and "Dirk Wübben" in new.authors
    assert new.published == dt.datetime(2017, 7, 27, 8, 18, 33, tzinfo=dt.UTC)


def test_api_drops_classification_codes_from_categories(real_fixtures: Path) -> None:
    papers = arxiv_api.parse(
        (real_fixtures / "arxiv_api_query_all-Einstein_2018-02-05.xml").read_bytes()
    )
    assert papers[0].categories == ("math.DG",)  # the "53D10, 53D15" MSC term is not a category


def test_api_old_style_ids(real_fixtures: Path) -> None:
    papers = arxiv_api.parse(
        (real_fixtures / "arxiv_api_query_au-del_maestro_2016-10-09.xml").read_bytes()
    )
    assert "cond-mat/0412498" in [p.arxiv_id for p in papers]


ATOM = '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">{}</feed>'


def test_api_error_feed_is_a_parse_error() -> None:
    entry = (
        "<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>"
        "<title>Error</title><summary>incorrect id format for 1234.12345</summary></entry>"
    )
    with pytest.raises(ParseError, match=r"arXiv API error: incorrect id format for 1234\.12345"):
        arxiv_api.parse(ATOM.format(entry))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (ATOM.format("<entry><id>x</id>")[:-7], "malformed XML"),
        ("<rss version='2.0'><channel/></rss>", "expected an Atom <feed>, got <rss>"),
        (
            '<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">]><feed>&a;</feed>',
            "refusing XML with a DTD",
        ),
    ],
)
def test_api_malformed_is_one_line_parse_error(raw: str, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        arxiv_api.parse(raw)
    assert info.value.source == "arxiv_api"
    assert reason in str(info.value) and "\n" not in str(info.value)


def test_api_empty_result_is_not_an_error() -> None:
    assert arxiv_api.parse(ATOM.format("<title>ArXiv Query</title>")) == []


def test_api_query_params_limit_dates() -> None:
    # Thursday's announcement and Wednesday's: submitted from Monday 14:00 to Wednesday
    # 14:00 New York time (19:00 UTC in November), the end minute included.
    params = arxiv_api.query_params('all:"test-time adaptation"', dt.date(2026, 11, 26), 400, 200)
    assert params["search_query"] == (
        '(all:"test-time adaptation") AND submittedDate:[202611231900 TO 202611251859]'
    )
    assert params["sortBy"] == "submittedDate"
    assert (params["start"], params["max_results"]) == ("400", "200")
    own = arxiv_api.query_params(
        "cat:cs.LG AND submittedDate:[2026 TO 2027]", dt.date(2026, 1, 1), 0, 200
    )
    assert own["search_query"] == "cat:cs.LG AND submittedDate:[2026 TO 2027]"


def test_rss_parse_never_opens_files_or_urls(tmp_path: Path, server: StubServer) -> None:
    # feedparser.parse() treats a URL-looking str as something to fetch and a str/bytes
    # naming a file as a path to read; parse() must only ever read the bytes it is given.
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss(rss_item("From disk", "arXiv:1 Announce Type: new Abstract: x")))
    url = server.script("/rss.xml", Reply(200, feed.read_bytes()))
    for raw in (str(feed), str(feed).encode(), url):
        with pytest.raises(ParseError, match=r"not an RSS feed|malformed XML"):
            arxiv_rss.parse(raw)
    assert server.requests("/rss.xml") == []


def test_api_bad_date_keeps_the_paper_and_the_rest_of_the_response(real_fixtures: Path) -> None:
    raw = (real_fixtures / "arxiv_api_query_all-Einstein_2018-02-05.xml").read_text()
    first = raw.index("<published>")
    end = raw.index("</published>", first)
    broken = raw[:first] + "<published>01/02/2024" + raw[end:]
    papers = arxiv_api.parse(broken.encode())
    assert len(papers) == 10
    assert papers[0].published is None
    assert all(p.published is not None for p in papers[1:])


# --- arXiv RSS freshness (pure: the channel's dates against the expected announcement)

TUE = dt.date(2026, 12, 1)


def dated(pub: str | None, built: str | None) -> arxiv_rss.Feed:
    parts = [
        f"<pubDate>{pub}</pubDate>" if pub else "",
        f"<lastBuildDate>{built}</lastBuildDate>" if built else "",
    ]
    raw = f"<rss version='2.0'><channel>{''.join(parts)}</channel></rss>".encode()
    return arxiv_rss.parse_feed(raw)


@pytest.mark.parametrize(
    ("pub", "built", "problem"),
    [
        ("Tue, 01 Dec 2026 00:00:00 -0500", "Tue, 01 Dec 2026 05:00:03 +0000", None),
        (None, "Tue, 01 Dec 2026 05:00:03 +0000", None),
        ("Tue, 01 Dec 2026 00:00:00 -0500", None, None),
        (
            "Mon, 30 Nov 2026 00:00:00 -0500",
            "Mon, 30 Nov 2026 05:00:03 +0000",
            "stale feed: it holds the announcement of Mon 30 Nov 2026 (pubDate Mon, 30 Nov 2026"
            " 00:00:00 -0500, lastBuildDate 2026-11-30 05:00 UTC); expected the announcement of"
            " Tue 1 Dec 2026",
        ),
        (
            None,
            "Wed, 02 Dec 2026 05:00:03 +0000",
            "the feed has moved on to the announcement of Wed 2 Dec 2026 (lastBuildDate"
            " 2026-12-02 05:00 UTC); the announcement of Tue 1 Dec 2026 is no longer in it"
            " (arXiv RSS keeps no archive)",
        ),
        (
            "Tue, 01 Dec 2026 00:00:00 -0500",
            "Tue, 01 Dec 2026 04:00:00 +0000",
            "the feed's dates disagree: pubDate Tue, 01 Dec 2026 00:00:00 -0500 but"
            " lastBuildDate 2026-12-01 04:00 UTC, before the announcement of Tue 1 Dec 2026"
            " came out",
        ),
        (
            None,
            None,
            "the feed has no pubDate or lastBuildDate: cannot tell whether it holds the"
            " announcement of Tue 1 Dec 2026",
        ),
    ],
)
def test_rss_freshness(pub: str | None, built: str | None, problem: str | None) -> None:
    assert arxiv_rss.freshness(dated(pub, built), TUE) == problem


def test_rss_freshness_of_the_capture_on_its_own_day(real_fixtures: Path) -> None:
    feed = arxiv_rss.parse_feed((real_fixtures / RSS_FILE).read_bytes())
    assert arxiv_rss.freshness(feed, dt.date(2024, 3, 26)) is None
    assert arxiv_rss.freshness(feed, dt.date(2024, 3, 27)).startswith("stale feed: it holds")


def test_text_that_cannot_be_stored_or_sent_is_cleaned_not_fatal() -> None:
    """JSON may carry lone surrogates (``"\\ud800"``) and control characters, NUL included:
    UTF-8 cannot encode the first and PostgreSQL's JSONB refuses NUL. One such title must
    not stop the digest of everyone (each would fail every run once frozen)."""
    raw = json.dumps(
        [
            {
                "paper": {
                    "id": "2411.00001",
                    "title": "Broken \ud800 surrogate\x00 and \x07bell",
                    "summary": "An \udfff abstract\x00.",
                    "authors": [{"name": "Ada\x00 \ud83d Lovelace"}],
                    "ai_keywords": ["key\x1bword"],
                    "githubRepo": "https://github.com/a/b\ud800",
                    "projectPage": "https://example.org/\x00",
                },
            }
        ]
    )
    (paper,) = hf_daily.parse(raw)
    assert paper.title == "Broken \ufffd surrogate and bell"
    assert paper.abstract == "An \ufffd abstract."
    assert paper.authors == ("Ada \ufffd Lovelace",)
    assert paper.ai_keywords == ("keyword",)
    assert paper.github_repo is None and paper.project_page is None
    for text in (paper.title, paper.abstract, *paper.authors, *paper.ai_keywords):
        text.encode("utf-8")
        assert not re.search(r"[\x00-\x1f\x7f]", text), text
