"""Pace by connection, not by recipient (issue 12, "one slow recipient slows everyone").

A 451/452 at RCPT (greylisting, a full mailbox) defers that recipient only. The sender
slows down on 421 and 454, on a 4xx at connect, MAIL or DATA, and when deferrals pile up
across many domains. Speed itself is measured in ``bench/send_greylist.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import update

from newsletter.deliver import open_transport
from newsletter.deliver.ratelimit import Limiter
from newsletter.outbox.send import SendReport, send_edition
from newsletter.store import editions, locks
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table
from tests.support.clock import FakeClock
from tests.support.delivery import address, compose, seed, smtp_settings, utcnow
from tests.support.faultsmtp import FaultServer, Rule


@pytest.fixture
def server() -> Iterator[FaultServer]:
    running = FaultServer.start()
    yield running
    running.stop()


async def send(
    store: Store,
    server: FaultServer,
    edition_id: int,
    clock: Callable[[], dt.datetime] = utcnow,
    **values: object,
) -> SendReport:
    settings = smtp_settings(server.port, retry_in_run_max_wait=0.0, **values)
    with store.begin() as conn:
        edition = editions.get(conn, edition_id)
    assert edition is not None
    async with open_transport(settings) as transport:
        return await send_edition(
            store, settings, edition, compose, transport, worker=locks.holder_id("t"), clock=clock
        )


@pytest.mark.parametrize(("share", "times"), [(0.01, 1), (0.10, None)])
async def test_greylisted_recipients_slow_down_no_one_else(
    sqlite_store: Store, server: FaultServer, share: float, times: int | None
) -> None:
    count = 200
    grey = [address(i) for i in range(0, count, round(1 / share))]
    server.script.rules += [
        Rule("rcpt", "451 4.7.1 Greylisted", match=a, times=times) for a in grey
    ]
    edition = seed(sqlite_store, count)
    # Each reading of the clock moves it on 50 ms: a message greylisted once falls due
    # (retry_base_delay 0.2 s) while the rest of the edition is sent, however fast or
    # slow the machine is.
    clock = FakeClock(utcnow(), tick=0.05)
    report = await send(sqlite_store, server, edition.id, clock)
    assert report.throttle_events == 0
    waiting = len(grey) if times is None else 0  # greylisted once: retried within the run
    assert report.counts["sent"] == count - waiting and report.counts["deferred"] == waiting


@pytest.mark.parametrize(
    "rule",
    [
        Rule("mail", "451 4.3.2 System not accepting network messages", times=1),
        Rule("data", "451 4.3.0 Try again later", times=1),
        Rule("rcpt", "454 4.7.0 TLS not available", times=1),
    ],
    ids=["451-mail", "451-data", "454-rcpt"],
)
async def test_the_sender_slows_down_when_the_server_asks_it_to(
    sqlite_store: Store, server: FaultServer, rule: Rule
) -> None:
    server.script.rules.append(rule)
    edition = seed(sqlite_store, 10)
    report = await send(sqlite_store, server, edition.id)
    assert report.throttle_events == 1


async def test_deferrals_across_many_domains_slow_the_sender_down(
    sqlite_store: Store, server: FaultServer
) -> None:
    edition = seed(sqlite_store, 60)
    with sqlite_store.begin() as conn:  # readers at five different domains
        for i in range(60):
            conn.execute(
                update(subscribers_table)
                .where(subscribers_table.c.email == address(i))
                .values(email=f"reader{i}@domain{i % 5}.test")
            )
    server.script.rules.append(Rule("rcpt", "451 4.7.1 Try again later", match="@domain"))
    report = await send(sqlite_store, server, edition.id, smtp_concurrency=2)
    assert report.throttle_events >= 1


async def test_the_limiter_fills_every_free_slot_and_no_more() -> None:
    """Waiters are woken one per free slot (not all at once): the number in flight still
    reaches the limit, never passes it, and follows it when it shrinks and grows back."""
    limiter = Limiter(3, pause=0.0, recover_after=1)
    holds = [asyncio.Event() for _ in range(12)]
    inside: list[int] = []

    async def one(index: int) -> None:
        async with limiter.slot():
            inside.append(index)
            await holds[index].wait()
            inside.remove(index)

    async def settle() -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    tasks = [asyncio.create_task(one(i)) for i in range(12)]
    await settle()
    assert inside == [0, 1, 2]  # the limit, first come first served
    holds[0].set()
    await settle()
    assert inside == [1, 2, 3]
    await limiter.throttled()  # down to one connection: no one new until two have left
    assert limiter.concurrency == 1
    holds[1].set()
    await settle()
    assert inside == [2, 3]
    holds[2].set()
    holds[3].set()
    await settle()
    assert inside == [4]
    await limiter.succeeded()  # back to two, then three: every free slot is filled
    await limiter.succeeded()
    assert limiter.concurrency == 3
    holds[4].set()
    await settle()
    assert inside == [5, 6, 7]
    for hold in holds:
        hold.set()
    await asyncio.gather(*tasks)
    assert inside == []
