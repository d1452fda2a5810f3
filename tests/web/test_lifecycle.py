"""The lifecycle emails, through the web app and a real SMTP server (the sink): the
confirmation, the welcome after confirming, the goodbye after unsubscribing and its
"subscribe again" link (30 days)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage

import httpx
import pytest

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Profile, Subscriber
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from newsletter.web import create_app
from tests.support.clock import FakeClock
from tests.support.forms import csrf_of
from tests.support.smtp import SmtpSink
from tests.web.helpers import BASE, only_subscriber


@pytest.fixture
async def mail_client(
    web_settings: Settings, store: Store, signer: Signer, clock: FakeClock, smtp_sink: SmtpSink
) -> AsyncIterator[httpx.AsyncClient]:
    """The web app sending through its real transport to the SMTP sink."""
    settings = web_settings.model_copy(
        update={
            "delivery": "smtp",
            "smtp_host": smtp_sink.host,
            "smtp_port": smtp_sink.port,
            "smtp_security": "none",
        }
    )
    app = create_app(settings, store, signer, clock=clock)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 1234))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def html_of(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def links_in(message: EmailMessage, path: str) -> list[str]:
    return re.findall(rf"{re.escape(BASE)}/{path}/[a-z2-7]+", text_of(message))


def top_line(html: str) -> str:
    """The words of the strip above the card (links joined by separators)."""
    found = re.search(r'>([^<>]*<a [^>]*class="nl-strip-link".*?)</div>', html, re.S)
    assert found is not None
    words = re.sub(r"<[^>]+>", " ", found.group(1))
    return " ".join(words.replace("&nbsp;", " ").split())


def add_active(store: Store, clock: FakeClock) -> Subscriber:
    with store.begin() as conn:
        return subscribers.add(
            conn,
            "ada@example.org",
            now=clock(),
            profile=Profile(topics=("graph neural networks", "protein design")),
            status="active",
        )


def status_of(store: Store, sid: int) -> str:
    with store.begin() as conn:
        return subscribers.get(conn, sid).status


async def test_subscribe_confirm_then_welcome(
    mail_client: httpx.AsyncClient, store: Store, smtp_sink: SmtpSink
) -> None:
    form = await mail_client.get("/subscribe")
    data = {
        "email": "ada@example.org",
        "name": "Ada",
        "topics": "graph neural networks\nprotein design",
        "csrf": csrf_of(form),
    }
    assert (await mail_client.post("/subscribe", data=data)).status_code == 200
    (confirmation,) = smtp_sink.wait_for(1)
    text, html = text_of(confirmation), html_of(confirmation)
    assert ">Confirm your subscription</div>" in html and "Your topics: graph neural" in html
    # The confirmation says what it takes (a link, then a button), and has no stray separator.
    assert "one click" not in (text + html).lower()
    assert "then press “Confirm subscription”" in html
    assert 'then press "Confirm subscription"' in text
    assert "/unsubscribe/" not in text  # not subscribed yet
    (confirm_url,) = links_in(confirmation, "confirm")

    # The page's button (a POST) confirms; the welcome follows, once.
    assert "Confirm subscription" in (await mail_client.get(confirm_url)).text
    assert len(smtp_sink.messages) == 1  # a GET sends nothing
    answer = await mail_client.post(confirm_url)
    assert answer.status_code == 200 and "You are subscribed" in answer.text
    assert status_of(store, only_subscriber(store).id) == "active"
    welcome = smtp_sink.wait_for(2)[1]
    assert welcome["Subject"] == "Welcome to Daily Papers"
    assert welcome["To"] == "ada@example.org"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = " ".join(text_of(welcome).split())
    assert "Your topics: graph neural networks · protein design." in text
    assert "You can change them" in text and "Change my topics:" in text
    assert links_in(welcome, "preferences") and links_in(welcome, "unsubscribe")
    assert "Change my topics" in html_of(welcome)
    assert top_line(html_of(welcome)) == "Preferences · Unsubscribe"  # no stray separator
    assert ">You are subscribed</div>" in html_of(welcome)  # the heading
    await mail_client.post(confirm_url)  # repeated: still subscribed, no second welcome
    assert len(smtp_sink.messages) == 2


async def test_unsubscribe_sends_goodbye_and_answers_as_before(
    mail_client: httpx.AsyncClient,
    store: Store,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    links: Links,
) -> None:
    sub = add_active(store, clock)
    url = links.unsubscribe(sub)
    one_click = await mail_client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert "location" not in one_click.headers and "set-cookie" not in one_click.headers
    assert status_of(store, sub.id) == "unsubscribed"
    (goodbye,) = smtp_sink.wait_for(1)
    assert goodbye["Subject"] == "You are unsubscribed from Daily Papers"
    assert goodbye["List-Unsubscribe"] is None  # nothing left to unsubscribe from
    assert links_in(goodbye, "unsubscribe") == [] and links_in(goodbye, "preferences") == []
    assert "works for 30 days" in text_of(goodbye)
    (again_url,) = links_in(goodbye, "resubscribe")
    assert again_url in html_of(goodbye)

    # The answer is the same as for a reader who was already unsubscribed, and no
    # second goodbye goes out.
    again = await mail_client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200 and again.text == one_click.text
    assert len(smtp_sink.messages) == 1

    # Within 30 days the link subscribes again: GET shows a button, POST acts.
    clock.advance(days=29)
    page = await mail_client.get(again_url)
    assert page.status_code == 200 and "Confirm subscription" in page.text
    assert status_of(store, sub.id) == "unsubscribed"
    done = await mail_client.post(again_url)
    assert done.status_code == 200 and "You are subscribed" in done.text
    with store.begin() as conn:
        back = subscribers.get(conn, sub.id)
    assert back.status == "active" and back.topics == ("graph neural networks", "protein design")
    assert smtp_sink.wait_for(2)[1]["Subject"] == "Welcome to Daily Papers"


async def test_resubscribe_link_is_refused_after_30_days(
    mail_client: httpx.AsyncClient,
    store: Store,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    links: Links,
) -> None:
    sub = add_active(store, clock)
    await mail_client.post(links.unsubscribe(sub), data={"List-Unsubscribe": "One-Click"})
    (again_url,) = links_in(smtp_sink.wait_for(1)[0], "resubscribe")
    clock.advance(days=30, seconds=1)
    for answer in (await mail_client.get(again_url), await mail_client.post(again_url)):
        assert answer.status_code == 400 and "This link does not work" in answer.text
    assert status_of(store, sub.id) == "unsubscribed"
    assert len(smtp_sink.messages) == 1  # no welcome


async def test_no_goodbye_for_a_reader_who_never_confirmed(
    mail_client: httpx.AsyncClient,
    store: Store,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    links: Links,
) -> None:
    with store.begin() as conn:
        sub = subscribers.add(conn, "bob@example.org", now=clock(), status="pending")
    answer = await mail_client.post(links.unsubscribe(sub), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and status_of(store, sub.id) == "unsubscribed"
    assert (await mail_client.get("/health")).status_code == 200
    assert smtp_sink.messages == []
