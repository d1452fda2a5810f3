"""Hostile text from outsiders: NUL, control characters, bidi overrides, lone surrogates and
markup in the sign-up form and the preferences form, on SQLite and PostgreSQL.

Nothing may be lost (the sign-up goes through), nothing may crash (PostgreSQL refuses NUL
in text), and what is stored and mailed is plain text: no control or bidi-override
character survives into a page, an email or a header.
"""

from __future__ import annotations

import re

import httpx

from newsletter.links import Links
from newsletter.models import Message
from newsletter.store.db import Store
from tests.support.forms import csrf_of
from tests.web.helpers import only_subscriber, parsed

# C0 and C1 controls, DEL, bidi embeddings/overrides/isolates (the "Trojan Source" set,
# CVE-2021-42574), and UTF-16 surrogates: none belongs in a name or a topic.
# (Line ends are checked apart: an email body has CRLF.)
UNWANTED = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
ONE_LINE = re.compile(r"[^\r\n\t]*")

HOSTILE_NAME = "Ada\x00 <script>alert(1)</script>\u202egnp.exe\x1b[31m\x85"
HOSTILE_TOPICS = "diffu\x00sion\nspec\u202eulative\u2066 decoding\x07\n\x9bgraph"


async def _subscribe(
    client: httpx.AsyncClient, email: str, name: str, topics: str
) -> httpx.Response:
    form = await client.get("/subscribe")
    data = {"email": email, "name": name, "topics": topics, "csrf": csrf_of(form)}
    return await client.post("/subscribe", data=data)


async def test_sign_up_with_control_and_bidi_characters_goes_through_clean(
    client: httpx.AsyncClient, store: Store, outbox: list[Message]
) -> None:
    answer = await _subscribe(client, "ada@example.org", HOSTILE_NAME, HOSTILE_TOPICS)
    assert answer.status_code == 200, answer.text
    assert "Check your inbox" in answer.text
    added = only_subscriber(store)
    assert added.status == "pending"
    for text in (added.name, *added.topics):
        assert not UNWANTED.search(text) and ONE_LINE.fullmatch(text), repr(text)
    # the words themselves are kept, only the unwanted characters went
    assert "Ada" in added.name and "<script>" in added.name
    assert len(added.topics) == 3 and "graph" in added.topics[2]
    assert [m.to for m in outbox] == ["ada@example.org"]
    mail = parsed(outbox[0])
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            assert not UNWANTED.search(part.get_content())
    html = outbox[0].html or ""
    assert "<script>alert" not in html


async def test_name_of_ten_thousand_characters_is_refused_in_one_line(
    client: httpx.AsyncClient, store: Store, outbox: list[Message]
) -> None:
    answer = await _subscribe(client, "ada@example.org", "x" * 10_000, "graphs")
    assert answer.status_code == 400
    assert "longer than" in answer.text
    assert outbox == []


async def test_preferences_with_control_characters_are_saved_clean(
    client: httpx.AsyncClient, store: Store, links: Links
) -> None:
    await _subscribe(client, "ada@example.org", "Ada", "graphs")
    reader = only_subscriber(store)
    path = links.preferences(reader).removeprefix("http://testserver")
    page = await client.get(path)
    data = {
        "csrf": csrf_of(page),
        "action": "save",
        "topics": HOSTILE_TOPICS,
        "authors": "Yann\x00 LeCun\u202e",
        "exclude": "<img src=x onerror=alert(1)>\x1f",
        "frequency": "daily",
    }
    answer = await client.post(path, data=data)
    assert answer.status_code == 200, answer.text
    assert "<img src=x" not in answer.text and "&lt;img src=x" in answer.text
    saved = only_subscriber(store).profile
    for term in (*saved.topics, *saved.authors, *saved.exclude):
        assert not UNWANTED.search(term) and ONE_LINE.fullmatch(term), repr(term)
    assert saved.authors == ("Yann LeCun",)
    assert not UNWANTED.search(answer.text)
