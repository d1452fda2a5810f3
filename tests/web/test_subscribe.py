from __future__ import annotations

from collections.abc import Callable

import httpx
from starlette.applications import Starlette

from newsletter.links import Links
from newsletter.models import Message
from newsletter.store import subscribers
from newsletter.store.db import Store
from tests.support.clock import FakeClock
from tests.support.forms import csrf_of
from tests.web.helpers import BASE, only_subscriber, parsed, snapshot, urls_in


async def subscribe(
    client: httpx.AsyncClient, email: str, topics: str = "diffusion models", **extra: str
) -> httpx.Response:
    form = await client.get("/subscribe")
    data = {"email": email, "name": "Ada", "topics": topics, "csrf": csrf_of(form), **extra}
    return await client.post("/subscribe", data=data)


async def test_form_page_is_escaped_and_has_csrf(client: httpx.AsyncClient) -> None:
    page = await client.get("/subscribe")
    assert page.status_code == 200
    assert 'name="email"' in page.text and csrf_of(page)
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_subscribe_creates_pending_and_sends_confirmation(
    client: httpx.AsyncClient, store: Store, outbox: list[Message], links: Links, clock: FakeClock
) -> None:
    answer = await subscribe(client, "Ada@Example.ORG", "diffusion models\nspeculative decoding")
    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    added = only_subscriber(store)
    assert added.email == "Ada@example.org"
    assert added.status == "pending"
    assert added.topics == ("diffusion models", "speculative decoding")
    assert [m.to for m in outbox] == ["Ada@example.org"]
    confirm = [u for u in urls_in(outbox[0]) if "/confirm/" in u]
    assert len(confirm) == 1 and confirm[0].startswith(f"{BASE}/confirm/")
    token = confirm[0].rsplit("/", 1)[1]
    assert links.subscriber_for("confirm", token, {added.id: added}.get, clock()) == added
    assert outbox[0].html and "/confirm/" in outbox[0].html


async def test_same_answer_whether_or_not_address_exists(
    client: httpx.AsyncClient, store: Store, outbox: list[Message], clock: FakeClock
) -> None:
    first = await subscribe(client, "ada@example.org")
    with store.begin() as conn:
        sid = only_subscriber(store).id
        subscribers.set_status(conn, sid, "active", now=clock())
    again = await subscribe(client, "ada@example.org", topics="something else")
    assert again.status_code == first.status_code == 200
    assert again.text == first.text
    after = only_subscriber(store)
    assert after.status == "active"
    assert after.topics == ("diffusion models",)  # an unauthenticated form changes nothing
    assert "already subscribed" in outbox[1].subject


async def test_bad_email_and_missing_csrf_store_nothing(
    client: httpx.AsyncClient, store: Store, outbox: list[Message]
) -> None:
    bad = await subscribe(client, "not-an-address")
    assert bad.status_code == 400
    assert "not a valid email address" in bad.text
    injected = await subscribe(client, "ada@example.org\r\nBcc: evil@example.com")
    assert injected.status_code == 400
    forged = await client.post("/subscribe", data={"email": "ada@example.org", "topics": "x"})
    assert forged.status_code == 400
    assert snapshot(store) == [] and outbox == []


async def test_untrusted_text_is_escaped_and_kept_out_of_headers(
    client: httpx.AsyncClient, store: Store, outbox: list[Message]
) -> None:
    form = await client.get("/subscribe")
    answer = await client.post(
        "/subscribe",
        data={
            "email": "bad",
            "name": "Eve\r\nBcc: evil@example.com",
            "topics": "<script>alert(1)</script>",
            "csrf": csrf_of(form),
        },
    )
    assert "<script>alert(1)" not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    await subscribe(client, "ada@example.org", name="Eve\r\nBcc: evil@example.com")
    headers = parsed(outbox[0])
    assert headers.get_all("Bcc") is None
    assert headers["To"] == "ada@example.org"


async def test_honeypot_answers_success_but_stores_nothing(
    client: httpx.AsyncClient, store: Store, outbox: list[Message]
) -> None:
    answer = await subscribe(client, "bot@example.org", website="http://spam.example")
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert snapshot(store) == [] and outbox == []


async def test_per_ip_limit_answers_429(
    make_app: Callable[..., Starlette], store: Store, outbox: list[Message], clock: FakeClock
) -> None:
    app = make_app(subscribe_limit_per_ip=3)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        codes = [(await subscribe(http, f"u{i}@example.org")).status_code for i in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        clock.now = clock.now.replace(hour=clock.now.hour + 2)
        assert (await subscribe(http, "later@example.org")).status_code == 200
    other = httpx.ASGITransport(app=app, client=("198.51.100.10", 5000))
    async with httpx.AsyncClient(transport=other, base_url=BASE) as http:
        assert (await subscribe(http, "elsewhere@example.org")).status_code == 200
    assert len(snapshot(store)) == 5 and len(outbox) == 5


async def test_per_address_limit_stops_emails_silently(
    make_app: Callable[..., Starlette], store: Store, outbox: list[Message]
) -> None:
    app = make_app(subscribe_limit_per_address=2, subscribe_limit_per_ip=0)
    for n in range(5):
        transport = httpx.ASGITransport(app=app, client=(f"192.0.2.{n}", 5000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            answer = await subscribe(http, "victim@example.org")
            assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert len(outbox) == 2
