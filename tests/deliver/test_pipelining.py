"""ESMTP PIPELINING (RFC 2920): the envelope in one group where the server offers it, and a
ledger that says exactly what it says without it, refusal by refusal, drop by drop."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtplib.email import quote_address
from sqlalchemy import select

from newsletter.config import Settings
from newsletter.deliver.pipelining import envelope_commands, quoted
from newsletter.deliver.smtp import SmtpTransport
from newsletter.models import Edition, Subscriber
from newsletter.outbox.send import SendReport
from newsletter.store import ledger
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table
from tests.support.delivery import (
    address,
    build_message,
    seed,
    send_all,
    smtp_settings,
)
from tests.support.faultsmtp import FaultServer, Rule

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
COUNT = 5
VICTIM = address(2)  # in the middle of the list: its envelope shares connections with others


@pytest.fixture
def servers() -> Iterator[list[FaultServer]]:
    started: list[FaultServer] = []
    yield started
    for server in started:
        server.stop()


async def run(store: Store, settings: Settings, edition: Edition) -> SendReport:
    return await send_all(store, settings, edition)


def outcome(store: Store, edition: Edition) -> dict[str, tuple[Any, ...]]:
    """Per address: what the ledger and the bounce score say."""
    with store.begin() as conn:
        rows = ledger.rows(conn, edition.id)
        subs = {
            r.id: (r.email, r.bounce_score, r.status)
            for r in conn.execute(
                select(
                    subscribers_table.c.id,
                    subscribers_table.c.email,
                    subscribers_table.c.bounce_score,
                    subscribers_table.c.status,
                )
            )
        }
    return {
        subs[r.subscriber_id][0]: (
            r.state,
            r.last_code,
            r.attempts,
            *subs[r.subscriber_id][1:],
        )
        for r in rows
    }


@pytest.mark.parametrize("offered", [True, False], ids=["pipelining", "one-by-one"])
async def test_the_envelope_goes_in_one_group_only_when_the_server_offers_it(
    sqlite_store: Store, servers: list[FaultServer], offered: bool
) -> None:
    server = FaultServer.start(pipelining=offered)
    servers.append(server)
    edition = seed(sqlite_store, 8)
    report = await run(sqlite_store, smtp_settings(server.port), edition)
    assert report.finished and report.counts["sent"] == 8
    # At each MAIL, had RCPT already arrived in the same read? Only when pipelined.
    assert server.script.pipelined == [offered] * 8
    copies = server.delivered()
    assert sorted(copies) == sorted(address(i) for i in range(8))
    assert set(copies.values()) == {1}


# Each fault hits VICTIM (or the first MAIL) in the middle of a pipelined batch.
SCENARIOS = {
    "rcpt 550 5.1.1 (hard)": [Rule("rcpt", "550 5.1.1 no such user", match=VICTIM)],
    "rcpt 451 once (greylisted)": [Rule("rcpt", "451 4.7.1 try later", match=VICTIM, times=1)],
    "rcpt 452 always (soft, deferred)": [Rule("rcpt", "452 4.2.2 mailbox full", match=VICTIM)],
    "rcpt 421 and close": [Rule("rcpt", "421 4.3.2 closing", match=VICTIM, times=1)],
    "rcpt drop": [Rule("rcpt", "drop", match=VICTIM, times=1)],
    "rcpt unreadable": [Rule("rcpt", "hello", match=VICTIM, times=1)],
    "mail 451 once": [Rule("mail", "451 4.3.0 busy", times=1)],
    "mail drop once": [Rule("mail", "drop", times=1)],
    "data 554 (the message)": [Rule("data", "554 5.7.1 spam", match=VICTIM)],
    "data drop": [Rule("data", "drop", match=VICTIM, times=1)],
    "after 354 drop": [Rule("after354", "drop", match=VICTIM, times=1)],
    "final dot drop (unknown)": [Rule("body", "drop", match=VICTIM, times=1)],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_the_ledger_says_the_same_with_and_without_pipelining(
    tmp_path: Path, servers: list[FaultServer], name: str
) -> None:
    seen = {}
    for offered in (True, False):
        rules = [Rule(r.stage, r.action, r.match, r.times) for r in SCENARIOS[name]]
        server = FaultServer.start(rules, pipelining=offered)
        servers.append(server)
        store = Store.open(f"sqlite:///{tmp_path / f'{offered}.db'}", now=NOW)
        try:
            edition = seed(store, COUNT)
            # No retry within the run (a deferral's retry would depend on timing): one try each.
            settings = smtp_settings(
                server.port, smtp_concurrency=1, retry_base_delay=3600.0, retry_max_delay=3600.0
            )
            await run(store, settings, edition)
            seen[offered] = (outcome(store, edition), dict(server.delivered()))
        finally:
            store.close()
        assert server.script.pipelined.count(True) == (
            len(server.script.pipelined) if offered else 0
        )
    assert seen[True] == seen[False]
    ledger_now, copies = seen[True]
    assert len(ledger_now) == COUNT and max(copies.values()) == 1  # never a duplicate


async def test_a_refusal_in_the_middle_of_a_group_is_per_recipient(
    servers: list[FaultServer],
) -> None:
    """Several recipients in one envelope (the transport's multi-recipient path): the one
    refused in the middle is reported alone, the others get the message once."""
    server = FaultServer.start([Rule("rcpt", "550 5.1.1 no such user", match="r1@")])
    servers.append(server)
    recipients = ["r0@example.test", "r1@example.test", "r2@example.test"]
    async with SmtpTransport(smtp_settings(server.port)) as transport:
        result = await transport.send_envelope(
            "p@example.org", recipients, b"Subject: x\r\n\r\nhi\r\n"
        )
    assert server.script.pipelined == [True]
    by_rcpt = {r.address: (r.state, r.code) for r in result.recipients}
    assert by_rcpt == {
        "r0@example.test": ("sent", 250),
        "r1@example.test": ("failed", 550),
        "r2@example.test": ("sent", 250),
    }
    assert dict(server.delivered()) == {"r0@example.test": 1, "r2@example.test": 1}


async def test_every_recipient_refused_but_data_accepted_sends_an_empty_message(
    servers: list[FaultServer],
) -> None:
    """RFC 2920 3.1: a server may answer 354 to a pipelined DATA after refusing every RCPT;
    the client then ends the transaction with a lone dot and the server delivers nothing."""
    server = FaultServer.start([Rule("rcpt", "550 5.1.1 no such user")], data_without_rcpt=True)
    servers.append(server)
    async with SmtpTransport(smtp_settings(server.port)) as transport:
        first = await transport.send(build_message(_sub(0)))
        second = await transport.send(build_message(_sub(1)))
    assert (first.state, first.code, first.stage) == ("failed", 550, "rcpt")
    assert (second.state, second.code) == ("failed", 550)
    assert transport.connections_opened == 1  # the connection stayed usable
    assert server.script.empty_messages == 2
    assert server.delivered() == {}


def _sub(i: int) -> Subscriber:
    return Subscriber(id=i + 1, email=address(i))


def test_only_plain_ascii_addresses_are_pipelined() -> None:
    assert envelope_commands("p@example.org", ["a@example.test"]) == [
        b"MAIL FROM:<p@example.org>",
        b"RCPT TO:<a@example.test>",
        b"DATA",
    ]
    assert envelope_commands("p@example.org", ["ü@example.test"]) is None
    assert envelope_commands("p@example.org", ["a@example.test\r\nRSET"]) is None


def test_quoted_addresses_are_what_aiosmtplib_writes() -> None:
    """``quoted`` skips the parsing only where it changes nothing."""
    rng = random.Random(18)
    alphabet = "aZ09.!#$%&'*+/=?^_`{|}~-@ <>()[],;:\\\"\t"
    crafted = [
        "p@example.org",
        "Ann <ann@example.org>",
        "a.b+c@x.example",
        "a..b@x.example",
        ".a@x.example",
        "a@x",
        "(comment) a@x.example",
        '"quoted name"@x.example',
        "a@x.example ",
    ]
    randoms = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20))) for _ in range(5000)
    ]
    for candidate in crafted + randoms:
        try:
            expected = quote_address(candidate)
        except ValueError:
            with pytest.raises(ValueError):
                quoted(candidate)
            continue
        assert quoted(candidate) == expected, candidate


async def test_an_unreadable_reply_in_the_group_fails_only_that_transaction(
    servers: list[FaultServer],
) -> None:
    server = FaultServer.start([Rule("mail", "hello", times=1)])
    servers.append(server)
    async with SmtpTransport(smtp_settings(server.port)) as transport:
        first = await transport.send(build_message(_sub(0)))
        second = await transport.send(build_message(_sub(1)))
    assert (first.state, first.stage) == ("deferred", "mail")
    assert (second.state, second.code) == ("sent", 250)
    assert dict(server.delivered()) == {address(1): 1}
