"""Every route that takes a token, against the damaged and misused tokens an outsider
would try: truncated, one character changed, another purpose's, expired, a removed
reader's; and GET, HEAD and OPTIONS (mail scanners, link previewers) on the good ones.
None changes anything; an upper-cased token still works (mail servers lower- or
upper-case, README "Security"). One app, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import httpx

from newsletter.links import Links
from newsletter.models import Paper, Subscriber
from newsletter.store import editions, subscribers
from newsletter.store import feedback as feedback_store
from newsletter.store.db import Store
from tests.support.clock import FakeClock
from tests.web.helpers import BASE, snapshot

PAPER = "2411.00001"
# route name -> the path for a token (the per-email feedback link carries its paper after it)
ROUTES = {
    "confirm": "/confirm/{}",
    "resubscribe": "/resubscribe/{}",
    "unsubscribe": "/unsubscribe/{}",
    "preferences": "/preferences/{}",
    "feedback": "/feedback/{}",
    "edition feedback": "/feedback/{}/more/" + PAPER,
    "view": "/view/{}",
}


def _state(store: Store) -> tuple[object, ...]:
    with store.begin() as conn:
        signals = feedback_store.for_subscribers(conn, [s.id for s in snapshot(store)])
    return (snapshot(store), signals)


def _paths(links: Links, reader: Subscriber, now: dt.datetime) -> dict[str, str]:
    urls = {
        "confirm": links.confirm(reader, now=now),
        "resubscribe": links.resubscribe(reader, now=now),
        "unsubscribe": links.unsubscribe(reader),
        "preferences": links.preferences(reader),
        "feedback": links.feedback(reader, PAPER, +1),
        "edition feedback": links.feedback_url(links.edition_token(reader, now.date()), PAPER, +1),
        "view": links.web_view(reader, now.date()),
    }
    return {route: url.removeprefix(BASE) for route, url in urls.items()}


def _token(path: str) -> str:
    return path.split("/")[2]


async def test_every_route_refuses_bad_tokens_and_prefetch_changes_nothing(
    client: httpx.AsyncClient, store: Store, links: Links, clock: FakeClock
) -> None:
    now = clock()
    with store.begin() as conn:
        editions.freeze(
            conn, now.date(), [Paper(PAPER, "A paper", "An abstract.")], sources=[], now=now
        )
        pending = subscribers.add(conn, "p@example.org", now=now, status="pending")
        gone = subscribers.add(conn, "gone@example.org", now=now, status="active")
    good = _paths(links, pending, now)
    removed = _paths(links, gone, now)
    with store.begin() as conn:
        subscribers.remove(conn, gone.email)
    before = _state(store)

    for route, path in good.items():
        for method in ("GET", "HEAD", "OPTIONS"):
            answer = await client.request(method, path)
            assert answer.status_code in (200, 405), (method, route, answer.status_code)
        upper = ROUTES[route].format(_token(path).upper())
        assert (await client.get(upper)).status_code == 200, route
    assert _state(store) == before

    token = {route: _token(path) for route, path in good.items()}
    for route in ROUTES:
        other = "preferences" if route != "preferences" else "unsubscribe"
        bad = {
            "truncated": token[route][:-2],
            "changed": token[route][:8]
            + ("a" if token[route][8] != "a" else "b")
            + token[route][9:],
            "extended": token[route] + "a",
            "other purpose": token[other],
            "removed reader": _token(removed[route]),
            "legacy-looking": "MTI6eHw2NzQ1.AAAAAAAAAAAAAAAAAAAAAA",
        }
        for kind, value in bad.items():
            for method in ("GET", "POST"):
                if route == "view" and method == "POST":
                    continue
                answer = await client.request(
                    method, ROUTES[route].format(value), data={"List-Unsubscribe": "One-Click"}
                )
                assert answer.status_code in (400, 404), (route, kind, method, answer.status_code)
                assert "This link does not work" in answer.text, (route, kind, method)
    assert _state(store) == before

    # expired: confirmation after 7 days, "subscribe again" after 30
    clock.advance(days=8)
    assert (await client.post(good["confirm"])).status_code == 400
    clock.advance(days=23)
    assert (await client.post(good["resubscribe"])).status_code == 400
    assert _state(store) == before
