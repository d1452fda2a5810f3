"""Feedback links in both forms: one token per email with the paper in the path (since
issue 18), and one token per paper (emails sent before), through the web app; and what an
edited link can and cannot do."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy import select

from newsletter.config import Settings
from newsletter.links import Links, holder
from newsletter.models import Paper, Profile, RankedItem, Section, Subscriber
from newsletter.render import Renderer
from newsletter.store import editions, subscribers
from newsletter.store.db import Store
from newsletter.store.schema import feedback
from newsletter.tokens import Signer
from tests.support.clock import FakeClock

PAPERS = [
    Paper("2608.00001", "A <b>first</b> paper", "Abstract one."),
    Paper("2608.00002", "A second paper", "Abstract two."),
    Paper("hep-th/9901001", "An old-style id", "Abstract three."),
]
LATER = Paper("2609.00001", "A paper of a later edition", "Abstract four.")


def _signals(store: Store) -> list[tuple[int, str, int]]:
    with store.begin() as conn:
        rows = conn.execute(
            select(feedback.c.subscriber_id, feedback.c.arxiv_id, feedback.c.signal)
        ).all()
    return sorted(tuple(r) for r in rows)


def _setup(store: Store, clock: FakeClock) -> tuple[Subscriber, Subscriber, dt.date]:
    day = clock().date()
    with store.begin() as conn:
        ada = subscribers.add(conn, "ada@example.org", now=clock())
        bob = subscribers.add(conn, "bob@example.org", now=clock())
        editions.freeze(conn, day, PAPERS, sources=["sample"], now=clock())
        editions.freeze(conn, day + dt.timedelta(days=30), [LATER], sources=["s"], now=clock())
    return ada, bob, day


async def test_new_form_get_shows_post_records_for_the_reader(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    ada, _, day = _setup(store, clock)
    token = links.edition_token(ada, day)
    for paper in PAPERS:
        url = links.feedback_url(token, paper.arxiv_id, +1)
        before = _signals(store)
        page = await client.get(url)
        assert page.status_code == 200 and "More like this" in page.text
        assert _signals(store) == before  # a GET records nothing (link scanners)
        done = await client.post(url)
        assert done.status_code == 200, paper.arxiv_id
    less = await client.post(links.feedback_url(token, PAPERS[0].arxiv_id, -1))
    assert less.status_code == 200 and "fewer papers like this" in less.text
    expected = [(ada.id, p.arxiv_id, -1 if p is PAPERS[0] else 1) for p in PAPERS]
    assert _signals(store) == sorted(expected)
    first = await client.get(links.feedback_url(token, PAPERS[0].arxiv_id, +1))
    assert "A &lt;b&gt;first&lt;/b&gt; paper" in first.text  # the stored title, escaped


async def test_old_and_new_forms_both_record(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    ada, bob, day = _setup(store, clock)
    old = links.feedback(ada, PAPERS[0].arxiv_id, -1)  # an email sent before issue 18
    new = links.feedback_url(links.edition_token(bob, day), PAPERS[1].arxiv_id, +1)
    assert re.fullmatch(r"http://testserver/feedback/[a-z2-7]+", old)
    assert re.fullmatch(r"http://testserver/feedback/[a-z2-7]+/more/2608\.00002", new)
    assert (await client.post(old)).status_code == 200
    assert (await client.post(new)).status_code == 200
    assert _signals(store) == [(ada.id, PAPERS[0].arxiv_id, -1), (bob.id, PAPERS[1].arxiv_id, 1)]


async def test_an_edited_paper_id_votes_as_the_same_reader_within_the_edition_only(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    ada, _, day = _setup(store, clock)
    token = links.edition_token(ada, day)
    edited = links.feedback_url(token, PAPERS[1].arxiv_id, -1)
    # Another paper of the same edition: the same reader's vote (they could click it anyway).
    assert (await client.post(edited)).status_code == 200
    # A paper of another edition (30 days later), and one no edition has: nothing recorded.
    for arxiv_id in (LATER.arxiv_id, "9999.99999", "../../unsubscribe"):
        answer = await client.post(links.feedback_url(token, arxiv_id, +1))
        assert answer.status_code in (400, 404), arxiv_id
    # A signal word that is not one: a bad link.
    bad = links.feedback_url(token, PAPERS[0].arxiv_id, +1).replace("/more/", "/most/")
    assert (await client.post(bad)).status_code == 400
    assert _signals(store) == [(ada.id, PAPERS[1].arxiv_id, -1)]


async def test_tampered_tokens_never_reach_another_reader_or_edition(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links, signer: Signer
) -> None:
    ada, _, day = _setup(store, clock)
    token = links.edition_token(ada, day)
    base32 = "abcdefghijklmnopqrstuvwxyz234567"
    tampered = {
        token[:i] + base32[(base32.index(token[i]) + 1) % 32] + token[i + 1 :]
        for i in range(len(token))
    }
    others = {
        links.unsubscribe(ada).rsplit("/", 1)[1],  # another purpose, same reader
        # the "view" token of emails before issue 18 signs the same reader and date
        links.signer.sign("view", holder(ada), day.isoformat().encode("ascii")),
        Links(
            links.base_url, Signer.from_secrets("another key"), "papers@example.org"
        ).edition_token(ada, day),
        token[:-1],
        token + "a",
    }
    for candidate in tampered | others:
        answer = await client.post(links.feedback_url(candidate, PAPERS[0].arxiv_id, +1))
        assert answer.status_code in (400, 404), candidate
    assert _signals(store) == []
    # The same reader's token for another date: that edition's papers only.
    later = links.edition_token(ada, day + dt.timedelta(days=30))
    assert (await client.post(links.feedback_url(later, PAPERS[0].arxiv_id, 1))).status_code == 404
    assert (await client.post(links.feedback_url(later, LATER.arxiv_id, 1))).status_code == 200
    assert _signals(store) == [(ada.id, LATER.arxiv_id, 1)]


async def test_a_removed_readers_edition_links_die(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    ada, _, day = _setup(store, clock)
    url = links.feedback_url(links.edition_token(ada, day), PAPERS[0].arxiv_id, +1)
    with store.begin() as conn:
        subscribers.remove(conn, ada.email)
        subscribers.add(conn, "ada@example.org", now=clock())
    assert (await client.post(url)).status_code == 400
    assert _signals(store) == []


async def test_links_of_a_rendered_digest_work_and_a_weekly_reader_reaches_the_week(
    client: httpx.AsyncClient,
    store: Store,
    clock: FakeClock,
    links: Links,
    web_settings: Settings,
) -> None:
    ada, _, day = _setup(store, clock)
    earlier = Paper("2608.00009", "A paper from three days before", "Abstract.")
    with store.begin() as conn:
        editions.freeze(conn, day - dt.timedelta(days=3), [earlier], sources=["s"], now=clock())
        edition = editions.get_by_date(conn, day)
    assert edition is not None
    weekly = Subscriber(
        ada.id,
        ada.email,
        profile=Profile(("papers",)),
        frequency="weekly",
        token_nonce=ada.token_nonce,
    )
    items = tuple(RankedItem(paper=p, score=1.0) for p in (*PAPERS, earlier))
    digest = Renderer(web_settings, links).digest(
        edition, weekly, (Section("papers", items, "papers"),), now=clock()
    )
    found = re.findall(r'href="(http://testserver/feedback/[^"]+)"', digest.html)
    assert len(found) == 2 * len(items)
    assert len({url.split("/")[4] for url in found}) == 1, "one token for the whole email"
    for url in found:
        assert (await client.post(url)).status_code == 200, url
    # "More" then "less" on each paper: the last click counts.
    assert _signals(store) == sorted((ada.id, p.arxiv_id, -1) for p in (*PAPERS, earlier))
