"""The personal web view: the reader's own email as a page, from a signed link."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy import select

from newsletter.config import Settings
from newsletter.links import Links, holder
from newsletter.models import Paper, Profile, Subscriber
from newsletter.personalize import make_ranker
from newsletter.render import Renderer
from newsletter.sources import sample
from newsletter.store import editions, subscribers
from newsletter.store.db import Store
from newsletter.store.schema import feedback
from tests.support.clock import FakeClock

DAY = dt.date(2026, 11, 26)


def setup(
    store: Store, clock: FakeClock, frequency: str = "daily"
) -> tuple[Subscriber, list[Paper]]:
    papers = sample.parse(sample.read())
    with store.begin() as conn:
        sub = subscribers.add(
            conn,
            "ada@example.org",
            now=clock(),
            profile=Profile(topics=("diffusion models", "robotics")),
        )
        subscribers.update_fields(conn, sub.id, now=clock(), frequency=frequency)
        sub = subscribers.get(conn, sub.id)
        editions.freeze(conn, DAY, papers, sources=["sample"], now=clock())
    return sub, papers


def state(store: Store) -> tuple[object, ...]:
    with store.begin() as conn:
        return (
            tuple(subscribers.list_all(conn)),
            tuple(conn.execute(select(feedback)).all()),
        )


async def test_view_in_browser_is_the_readers_own_email(
    client: httpx.AsyncClient,
    store: Store,
    clock: FakeClock,
    links: Links,
    web_settings: Settings,
) -> None:
    sub, papers = setup(store, clock)
    url = links.web_view(sub, DAY)
    assert "/view/" in url and "/archive/" not in url
    before = state(store)
    page = await client.get(url)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert state(store) == before  # a GET changes nothing
    html = page.text
    assert "diffusion models" in html.lower()  # the reader's own sections
    more = re.findall(r'href="(http://testserver/feedback/[^"]+)"', html)
    assert more, "the feedback buttons are on the page"
    assert links.preferences(sub) in html and links.unsubscribe(sub) in html
    assert url not in html  # no "View in browser" link to itself
    # the same papers, in the same order, as the email the reader got
    with store.begin() as conn:
        edition = editions.get_by_date(conn, DAY)
    assert edition is not None
    sections = make_ranker(web_settings, edition.papers).rank(sub.profile)
    msg = Renderer(web_settings, links).digest(edition, sub, sections, now=clock())
    ids = re.compile(r"arxiv\.org/abs/([0-9.]+)")
    assert ids.findall(html) == ids.findall(msg.html)
    assert len(set(ids.findall(html))) >= 5 and len(papers) > 5


async def test_bad_or_foreign_tokens_get_the_link_error_page(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub, _ = setup(store, clock)
    token = links.web_view(sub, DAY).rsplit("/", 1)[1]
    tampered = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    for path in (
        f"/view/{tampered}",
        "/view/" + links.preferences(sub).rsplit("/", 1)[1],  # another purpose's token
    ):
        answer = await client.get(path)
        assert answer.status_code == 400 and "This link does not work" in answer.text, path
    gone = await client.get(links.web_view(sub, DAY - dt.timedelta(days=1)))
    assert gone.status_code == 404 and "Traceback" not in gone.text


async def test_the_link_is_the_emails_edition_token_and_old_view_links_still_work(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub, _ = setup(store, clock)
    token = links.edition_token(sub, DAY)
    assert links.web_view(sub, DAY) == f"{links.base_url}/view/{token}"
    # an email sent before issue 18 carries a "view" token (the ISO date): same page
    old = links.signer.sign("view", holder(sub), DAY.isoformat().encode("ascii"))
    new_page, old_page = await client.get(f"/view/{token}"), await client.get(f"/view/{old}")
    assert new_page.status_code == old_page.status_code == 200
    assert new_page.text == old_page.text
    # a "view" token of another day names that day, not the edition token's
    other = links.signer.sign("view", holder(sub), b"2026-11-25")
    assert (await client.get(f"/view/{other}")).status_code == 404


async def test_weekly_reader_sees_the_week(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub, _ = setup(store, clock, "weekly")
    page = await client.get(links.web_view(sub, DAY))
    assert page.status_code == 200 and "The week to" in page.text
