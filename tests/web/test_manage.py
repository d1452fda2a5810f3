from __future__ import annotations

import datetime as dt

import httpx

from newsletter.links import Links
from newsletter.models import Profile, Subscriber
from newsletter.store import subscriber_history, subscribers
from newsletter.store.db import Store
from tests.support.clock import FakeClock
from tests.support.forms import csrf_of
from tests.web.helpers import snapshot


def add(
    store: Store, clock: FakeClock, email: str = "ada@example.org", status: str = "pending"
) -> Subscriber:
    with store.begin() as conn:
        return subscribers.add(
            conn,
            email,
            now=clock(),
            profile=Profile(topics=("graph neural networks",)),
            status=status,  # type: ignore[arg-type]
        )


def get(store: Store, sid: int) -> Subscriber:
    with store.begin() as conn:
        return subscribers.get(conn, sid)


async def test_confirm_get_shows_button_post_activates(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock)
    url = links.confirm(sub, now=dt.datetime.now(dt.UTC))
    page = await client.get(url)
    assert page.status_code == 200
    assert '<form method="post">' in page.text and "Confirm subscription" in page.text
    assert get(store, sub.id).status == "pending"
    done = await client.post(url)
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert get(store, sub.id).status == "active"
    assert (await client.post(url)).status_code == 200
    assert get(store, sub.id).status == "active"


async def test_expired_confirmation_changes_nothing(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock)
    url = links.confirm(
        sub, now=dt.datetime.now(dt.UTC)
    )  # signed with the real time; the app's clock moves past 7 days
    clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)
    answer = await client.post(url)
    assert answer.status_code == 400
    assert "This link does not work" in answer.text
    assert get(store, sub.id).status == "pending"


async def test_unsubscribe_page_then_one_click(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock, status="active")
    url = links.unsubscribe(sub)
    page = await client.get(url)
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert get(store, sub.id).status == "active"
    client.cookies.clear()
    one_click = await client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert "location" not in one_click.headers and "set-cookie" not in one_click.headers
    assert get(store, sub.id).status == "unsubscribed"
    again = await client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200 and "You are unsubscribed" in again.text
    with store.begin() as conn:  # `subscribers show` says who: the reader, on the web page
        [change] = subscriber_history.status_changes(conn, sub.id)
    assert (change.old, change.new, change.by) == ("active", "unsubscribed", "web")


async def test_one_click_multipart_and_removed_subscriber(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock, status="active")
    answer = await client.post(
        links.unsubscribe(sub), files={"List-Unsubscribe": (None, "One-Click")}
    )
    assert answer.status_code == 200
    assert get(store, sub.id).status == "unsubscribed"
    with store.begin() as conn:
        subscribers.remove(conn, sub.email)
    gone = await client.post(links.unsubscribe(sub))  # the operator removed them since
    assert gone.status_code == 400 and "This link does not work" in gone.text


async def test_preferences_save_needs_csrf(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock, status="active")
    other = add(store, clock, "bob@example.org", status="active")
    url = links.preferences(sub)
    page = await client.get(url)
    assert "graph neural networks" in page.text
    forged = await client.post(
        url, data={"action": "save", "topics": "spam", "frequency": "weekly"}
    )
    assert forged.status_code == 400
    other_csrf = csrf_of(await client.get(links.preferences(other)))
    swapped = await client.post(url, data={"action": "save", "topics": "spam", "csrf": other_csrf})
    assert swapped.status_code == 400
    assert get(store, sub.id).topics == ("graph neural networks",)
    saved = await client.post(
        url,
        data={
            "action": "save",
            "topics": "LLM agents\n\nretrieval; RAG",
            "frequency": "weekly",
            "csrf": csrf_of(page),
        },
    )
    assert saved.status_code == 200 and "saved" in saved.text
    after = get(store, sub.id)
    assert after.topics == ("LLM agents", "retrieval", "RAG")
    assert after.frequency == "weekly"


async def test_pause_and_resume(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock, status="active")
    url = links.preferences(sub)
    token = csrf_of(await client.get(url))
    past = await client.post(
        url, data={"action": "pause", "paused_until": "2026-11-01", "csrf": token}
    )
    assert past.status_code == 400 and get(store, sub.id).status == "active"
    paused = await client.post(
        url, data={"action": "pause", "paused_until": "2026-12-24", "csrf": token}
    )
    assert paused.status_code == 200
    after = get(store, sub.id)
    assert (after.status, after.paused_until) == ("paused", dt.date(2026, 12, 24))
    assert "Resume now" in paused.text
    resumed = await client.post(url, data={"action": "resume", "csrf": token})
    assert resumed.status_code == 200
    after = get(store, sub.id)
    assert (after.status, after.paused_until) == ("active", None)


async def test_unsubscribed_cannot_be_resumed_from_preferences(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock, status="unsubscribed")
    url = links.preferences(sub)
    token = csrf_of(await client.get(url))
    answer = await client.post(url, data={"action": "resume", "csrf": token})
    assert answer.status_code == 400
    assert snapshot(store)[0].status == "unsubscribed"
