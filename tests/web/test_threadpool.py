"""Handlers that touch the database run in Starlette's threadpool: while one request waits
for a SQLite write lock held elsewhere, other requests are answered."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from newsletter.config import Settings
from newsletter.models import Message
from newsletter.store.db import Store
from newsletter.tokens import Signer
from newsletter.web import create_app
from tests.support.clock import FakeClock as Clock
from tests.support.forms import csrf_of
from tests.web.helpers import BASE, only_subscriber


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[tuple[Store, Path]]:
    path = tmp_path / "locked.db"
    store = Store.open(f"sqlite:///{path}", now=Clock()())
    yield store, path
    store.close()


async def test_a_request_waiting_for_a_write_lock_does_not_stall_the_others(
    sqlite_store: tuple[Store, Path], web_settings: Settings, signer: Signer
) -> None:
    store, path = sqlite_store
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    app = create_app(web_settings, store, signer, send=send, clock=Clock())
    inserting = threading.Event()

    def before_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SUBSCRIBERS"):
            inserting.set()

    event.listen(store.engine, "before_cursor_execute", before_execute)
    holder = sqlite3.connect(path, isolation_level=None)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 1234))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        form = await client.get("/subscribe")
        holder.execute("BEGIN IMMEDIATE")  # another process writing: the lock is taken
        try:
            data = {"email": "ada@example.org", "name": "Ada", "csrf": csrf_of(form)}
            posting = asyncio.create_task(client.post("/subscribe", data=data))
            assert await asyncio.wait_for(asyncio.to_thread(inserting.wait, 10), 15)
            health = await asyncio.wait_for(client.get("/health"), 10)
            page = await asyncio.wait_for(client.get("/subscribe"), 10)
            assert (health.status_code, page.status_code) == (200, 200)
            assert not posting.done()  # still waiting for the lock, and nobody else waited
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        answer = await asyncio.wait_for(posting, 30)
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert only_subscriber(store).email == "ada@example.org"
    assert [m.to for m in sent] == ["ada@example.org"]
