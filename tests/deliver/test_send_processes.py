"""SEND_PROCESSES > 1: forked helpers send the same edition beside the parent, each row once."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import select

from newsletter.deliver import open_transport
from newsletter.errors import DeliveryError
from newsletter.models import Message, Subscriber
from newsletter.outbox.send import per_process, send_edition
from newsletter.store import ledger, locks
from newsletter.store.db import Store
from newsletter.store.schema import ledger as ledger_table
from tests.support.delivery import address, compose, seed, smtp_settings, utcnow
from tests.support.faultsmtp import FaultServer, Rule


@pytest.fixture
def server() -> Iterator[FaultServer]:
    running = FaultServer.start(delay=0.002)
    yield running
    running.stop()


async def test_three_processes_send_every_row_exactly_once(
    store: Store, server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="newsletter.outbox.forked")
    count = 240
    edition = seed(store, count)
    settings = smtp_settings(server.port, send_processes=3, smtp_concurrency=6)
    async with open_transport(per_process(settings)) as transport:
        report = await send_edition(
            store,
            settings,
            edition,
            compose,
            transport,
            worker=locks.holder_id("parent"),
            clock=utcnow,
        )
    assert report.finished
    assert report.sent_now == count
    assert {k: v for k, v in report.counts.items() if v} == {"sent": count}
    copies = server.delivered()
    assert sorted(copies) == sorted(address(i) for i in range(count))
    assert set(copies.values()) == {1}
    with store.begin() as conn:
        senders = set(conn.execute(select(ledger_table.c.claimed_by)).scalars())
        rows = ledger.rows(conn, edition.id)
    # Three processes took part (helper names carry their own pid).
    assert len(senders) == 3
    assert len({s.split(":")[1] for s in senders}) == 3
    assert str(os.getpid()) in {s.split(":")[1] for s in senders}
    assert all(r.state == "sent" and r.attempts == 1 for r in rows)
    # The helpers share the parent's imports: none imported anything after the fork.
    imports = sorted(r.getMessage() for r in caplog.records if "after the fork" in r.getMessage())
    assert imports == [f"helper {i} imported 0 module(s) after the fork" for i in (1, 2)]


async def test_a_refused_setup_stops_every_process(store: Store) -> None:
    # Every MAIL is answered 530 (authentication required): a configuration error that
    # stops any sender, helpers included; nothing is sent, nobody is scored.
    server = FaultServer.start([Rule("mail", "530 5.7.0 Authentication required")])
    try:
        edition = seed(store, 40)
        settings = smtp_settings(server.port, send_processes=2)
        async with open_transport(per_process(settings)) as transport:
            report = await send_edition(
                store,
                settings,
                edition,
                compose,
                transport,
                worker=locks.holder_id("parent"),
                clock=utcnow,
            )
    finally:
        server.stop()
    assert report.stopped is not None and "530" in report.stopped
    assert report.sent_now == 0 and not report.finished
    with store.begin() as conn:
        counts = ledger.counts(conn, edition.id)
    assert counts["sent"] == counts["failed"] == 0
    assert counts["pending"] + counts["deferred"] == 40


async def test_a_helper_that_fails_fails_the_send(store: Store, server: FaultServer) -> None:
    parent = os.getpid()

    def compose_only_in_the_parent(subs: Sequence[Subscriber]) -> list[Message]:
        if os.getpid() != parent:
            raise RuntimeError("template exploded in the helper")
        return compose(subs)

    edition = seed(store, 40)
    settings = smtp_settings(server.port, send_processes=2)
    with pytest.raises(DeliveryError, match="helper sender 1: template exploded"):
        async with open_transport(per_process(settings)) as transport:
            await send_edition(
                store,
                settings,
                edition,
                compose_only_in_the_parent,
                transport,
                worker=locks.holder_id("parent"),
                clock=utcnow,
            )
    with store.begin() as conn:
        counts = ledger.counts(conn, edition.id)
    assert counts["sending"] == 0  # what the helper held went back
    assert counts["sent"] + counts["pending"] == 40


def test_limits_are_shared_out_between_processes() -> None:
    settings = smtp_settings(
        25, send_processes=4, smtp_concurrency=8, send_rate_per_second=14, send_rate_per_hour=10
    )
    share = per_process(settings)
    assert share.send_processes == 1
    assert share.smtp_concurrency == 2
    assert share.send_rate_per_second * 4 == pytest.approx(14)
    assert share.send_rate_per_hour == 2  # rounded down: 4 x 2 <= 10 (a total never exceeded)
    single = smtp_settings(25)
    assert per_process(single) is single
