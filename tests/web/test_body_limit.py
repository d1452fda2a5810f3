"""An outsider posting a huge body to a form (sign-up, preferences, feedback): refused
with 413 after at most ``MAX_FORM_BYTES`` have been read, so a server without a proxy in
front (README: nginx ``client_max_body_size 64k``) neither buffers it in memory nor
spools it to disk; nothing is created."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from newsletter.store.db import Store
from newsletter.web.middleware import MAX_BODY_BYTES
from tests.support.forms import csrf_of
from tests.web.helpers import snapshot

CHUNK = 64 * 1024


async def test_a_streamed_huge_form_is_cut_off_early(
    client: httpx.AsyncClient, store: Store
) -> None:
    form = await client.get("/subscribe")
    produced = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal produced
        head = f"csrf={csrf_of(form)}&email=ada%40example.org&name=".encode()
        produced += len(head)
        yield head
        for _ in range(800):  # 50 MiB, no Content-Length (chunked)
            produced += CHUNK
            yield b"x" * CHUNK

    answer = await client.post(
        "/subscribe",
        content=body(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert produced <= MAX_BODY_BYTES + 2 * CHUNK
    assert snapshot(store) == []


async def test_a_declared_huge_length_is_refused_before_reading(
    client: httpx.AsyncClient, store: Store
) -> None:
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(40):
            read += CHUNK
            yield b"a" * CHUNK

    answer = await client.post(
        "/subscribe",
        content=body(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(40 * CHUNK),
        },
    )
    assert answer.status_code == 413
    assert read <= CHUNK


async def test_a_multipart_upload_is_cut_off(client: httpx.AsyncClient, store: Store) -> None:
    form = await client.get("/subscribe")
    answer = await client.post(
        "/subscribe",
        data={"csrf": csrf_of(form), "email": "ada@example.org"},
        files={"name": ("big.bin", b"\0" * (5 * 1024 * 1024), "application/octet-stream")},
    )
    assert answer.status_code == 413
    assert snapshot(store) == []


async def test_an_ordinary_form_still_goes_through(client: httpx.AsyncClient) -> None:
    form = await client.get("/subscribe")
    data = {"csrf": csrf_of(form), "email": "ada@example.org", "topics": "graphs; " * 200}
    answer = await client.post("/subscribe", data=data)
    assert answer.status_code == 200, answer.text
