from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Paper
from newsletter.store import editions, subscribers
from newsletter.store.db import Store
from newsletter.store.schema import feedback
from newsletter.tokens import Signer
from tests.support.clock import FakeClock


async def test_health(client: httpx.AsyncClient) -> None:
    answer = await client.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}


async def test_health_reports_unreachable_database(
    web_settings: Settings, tmp_path: Path, signer: Signer
) -> None:
    from newsletter.web import create_app

    store = Store.open(f"sqlite:///{tmp_path / 'gone' / 'db.sqlite'}", now=dt.datetime.now(dt.UTC))
    app = create_app(web_settings, store, signer)
    (tmp_path / "gone" / "db.sqlite").unlink()
    (tmp_path / "gone").rmdir()
    (tmp_path / "gone").write_text("not a folder")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        answer = await http.get("/health")
    assert answer.status_code == 503
    store.close()


async def test_archive_served_without_traversal(
    client: httpx.AsyncClient, web_settings: Settings, tmp_path: Path
) -> None:
    assert (await client.get("/archive/")).status_code == 404  # no archive yet: 404, no crash
    folder = web_settings.archive_dir
    folder.mkdir()
    (folder / "index.html").write_text("<h1>All editions</h1>")
    (folder / "2026-11-26.html").write_text("<h1>Edition of 26 November</h1>")
    (folder / "feed.xml").write_text("<feed xmlns='http://www.w3.org/2005/Atom'/>")
    (tmp_path / "secret.txt").write_text("do not serve")
    (folder / "link.html").symlink_to(tmp_path / "secret.txt")
    index = await client.get("/archive/")
    assert index.status_code == 200 and "All editions" in index.text
    page = await client.get("/archive/2026-11-26.html")
    assert "Edition of 26 November" in page.text
    feed = await client.get("/archive/feed.xml")
    assert feed.status_code == 200 and "xml" in feed.headers["content-type"]
    for path in (
        "/archive/../secret.txt",
        "/archive/%2e%2e/secret.txt",
        "/archive/..%2fsecret.txt",
        "/archive/link.html",
    ):
        answer = await client.get(path)
        assert "do not serve" not in answer.text, path
        assert answer.status_code == 404, path


async def test_unknown_path_is_a_page_not_a_trace(client: httpx.AsyncClient) -> None:
    answer = await client.get("/nope")
    assert answer.status_code == 404
    assert "Not found" in answer.text and "Traceback" not in answer.text


async def test_feedback_get_confirms_post_records(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    paper = Paper(arxiv_id="2403.15527", title="A <b>bold</b> paper", abstract="...")
    with store.begin() as conn:
        sub = subscribers.add(conn, "ada@example.org", now=clock())
        editions.freeze(conn, clock().date(), [paper], sources=["sample"], now=clock())
    url = links.feedback(sub, paper.arxiv_id, -1)
    page = await client.get(url)
    assert page.status_code == 200
    assert "A &lt;b&gt;bold&lt;/b&gt; paper" in page.text and "Less like this" in page.text
    with store.begin() as conn:
        assert conn.execute(select(feedback)).all() == []
    done = await client.post(url)
    assert done.status_code == 200 and "fewer papers like this" in done.text
    with store.begin() as conn:
        rows = conn.execute(
            select(feedback.c.subscriber_id, feedback.c.arxiv_id, feedback.c.signal)
        ).all()
    assert [tuple(r) for r in rows] == [(sub.id, "2403.15527", -1)]
    unknown = await client.post(links.feedback(sub, "9999.99999", 1))
    assert unknown.status_code == 404


async def test_access_log_names_requests_without_tokens(
    client: httpx.AsyncClient,
    store: Store,
    clock: FakeClock,
    links: Links,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with store.begin() as conn:
        sub = subscribers.add(conn, "ada@example.org", now=clock())
    url = links.unsubscribe(sub)
    token = url.rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="newsletter.web.access"):
        await client.get(url)
    lines = [r.getMessage() for r in caplog.records if r.name == "newsletter.web.access"]
    assert len(lines) == 1
    assert lines[0].startswith('203.0.113.7 "GET /unsubscribe/…" 200 ')
    assert token not in caplog.text
