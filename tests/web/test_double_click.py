"""Requests that race: a double click on "Confirm", a mail provider's RFC 8058 one-click
POST arriving with the reader's own click, a retried POST. The status changes once and the
email that follows it (welcome, goodbye) goes once; every request gets its usual answer.
Real threads (Starlette's threadpool) against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx

from newsletter.links import Links
from newsletter.models import Message
from newsletter.store import subscribers
from newsletter.store.db import Store
from tests.support.clock import FakeClock
from tests.support.forms import csrf_of
from tests.web.helpers import BASE

CLICKS = 8


async def test_racing_one_click_unsubscribes_send_one_goodbye(
    client: httpx.AsyncClient, store: Store, outbox: list[Message], links: Links, clock: FakeClock
) -> None:
    for trial in range(3):
        with store.begin() as conn:
            reader = subscribers.add(conn, f"r{trial}@example.org", now=clock(), status="active")
        path = links.unsubscribe(reader).removeprefix(BASE)
        answers = await asyncio.gather(
            *[client.post(path, data={"List-Unsubscribe": "One-Click"}) for _ in range(CLICKS)]
        )
        assert [a.status_code for a in answers] == [200] * CLICKS
        with store.begin() as conn:
            assert subscribers.get(conn, reader.id).status == "unsubscribed"
        goodbyes = [m for m in outbox if m.to == reader.email]
        assert len(goodbyes) == 1, [m.subject for m in goodbyes]


async def test_a_double_clicked_confirmation_sends_one_welcome(
    client: httpx.AsyncClient, store: Store, outbox: list[Message], links: Links, clock: FakeClock
) -> None:
    for trial in range(3):
        with store.begin() as conn:
            reader = subscribers.add(conn, f"p{trial}@example.org", now=clock(), status="pending")
        path = links.confirm(reader, now=clock()).removeprefix(BASE)
        answers = await asyncio.gather(*[client.post(path) for _ in range(CLICKS)])
        assert [a.status_code for a in answers] == [200] * CLICKS
        assert all("You are subscribed" in a.text for a in answers)
        with store.begin() as conn:
            assert subscribers.get(conn, reader.id).status == "active"
        welcomes = [m for m in outbox if m.to == reader.email]
        assert len(welcomes) == 1, [m.subject for m in welcomes]


async def test_a_double_submitted_sign_up_answers_alike(
    client: httpx.AsyncClient, store: Store, outbox: list[Message]
) -> None:
    form = await client.get("/subscribe")
    for trial in range(3):
        email = f"new{trial}@example.org"
        data = {"email": email, "topics": "graphs", "csrf": csrf_of(form)}
        answers = await asyncio.gather(*[client.post("/subscribe", data=data) for _ in range(3)])
        assert [a.status_code for a in answers] == [200] * 3
        assert all("Check your inbox" in a.text for a in answers)
        with store.begin() as conn:
            assert subscribers.get_by_email(conn, email) is not None
        # the request that added the row sends the confirmation; one that lost the race
        # to add it sends none, one that came after the add sends it again, as any
        # repeated sign-up of a pending address does (within the per-address limit)
        assert 1 <= len([m for m in outbox if m.to == email]) <= 3
