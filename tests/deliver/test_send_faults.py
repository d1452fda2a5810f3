"""The send loop against a scripted SMTP server: what the ledger says, what the next run does."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from newsletter.config import Settings
from newsletter.deliver import open_transport
from newsletter.models import Edition
from newsletter.send import SendReport, send_edition
from newsletter.store import ledger, locks, subscribers
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table
from tests.deliver.helpers import address, compose, seed, smtp_settings, utcnow
from tests.deliver.smtpserver import FaultServer, Rule


@pytest.fixture
def server_factory() -> Iterator[Any]:
    started: list[FaultServer] = []

    def start(*args: Any, **kwargs: Any) -> FaultServer:
        server = FaultServer.start(*args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


async def run(store: Store, settings: Settings, edition: Edition) -> SendReport:
    async with open_transport(settings) as transport:
        return await send_edition(
            store,
            settings,
            edition,
            compose,
            transport,
            worker=locks.holder_id("test"),
            clock=utcnow,
        )


def by_address(store: Store, edition: Edition) -> dict[str, ledger.LedgerRow]:
    with store.begin() as conn:
        rows = ledger.rows(conn, edition.id)
        emails = dict(conn.execute(select(subscribers_table.c.id, subscribers_table.c.email)).all())
    return {emails[r.subscriber_id]: r for r in rows}


def assert_exactly_once(server: FaultServer, count: int) -> None:
    copies = server.delivered()
    assert sorted(copies) == sorted(address(i) for i in range(count))
    assert set(copies.values()) == {1}


async def test_every_subscriber_once_and_a_rerun_sends_nothing(
    store: Store, server_factory: Any
) -> None:
    server = server_factory()
    edition = seed(store, 30)
    settings = smtp_settings(server.port)
    report = await run(store, settings, edition)
    assert report.finished and report.sent_now == 30
    assert report.counts["sent"] == 30
    assert_exactly_once(server, 30)
    # connections are reused: far fewer than messages
    assert server.script.connections <= settings.smtp_concurrency + 1
    rows = by_address(store, edition)
    assert all(r.last_text and r.last_text.startswith("2.0.0 OK queued") for r in rows.values())
    again = await run(store, settings, edition)
    assert again.sent_now == 0 and again.finished
    assert_exactly_once(server, 30)
