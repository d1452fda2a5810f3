"""The next message's MAIL, RCPT and DATA in the same write as the previous message's
final dot (RFC 2920 section 3.1), with faults around the dot: whatever happens, no message
is accepted twice, none is lost, and the ledger says "sent" only after the 250 to a
message's own final dot (``deliver.smtp``, ``deliver.pipelining.final_dot``).

One connection (``SMTP_CONCURRENCY=1``) and one batch, so every message but the last is
sent with the next one's envelope behind its dot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from newsletter.deliver import open_transport
from newsletter.models import NOT_OWNED, Subscriber
from newsletter.store import ledger
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table
from tests.support.delivery import address, build_message, seed, send_all, smtp_settings
from tests.support.faultsmtp import FaultServer, Rule

COUNT = 6


@pytest.fixture
def started() -> Iterator[list[FaultServer]]:
    servers: list[FaultServer] = []
    yield servers
    for server in servers:
        server.stop()


def start(started: list[FaultServer], rules: list[Rule]) -> FaultServer:
    server = FaultServer.start(rules)
    started.append(server)
    return server


def states(store: Store, edition_id: int) -> dict[str, tuple[str, int]]:
    """(state, attempts) by address."""
    with store.begin() as conn:
        emails = dict(conn.execute(select(subscribers_table.c.id, subscribers_table.c.email)).all())
        return {
            emails[r.subscriber_id]: (r.state, r.attempts) for r in ledger.rows(conn, edition_id)
        }


async def test_the_next_envelope_goes_with_the_final_dot(
    sqlite_store: Store, started: list[FaultServer]
) -> None:
    server = start(started, [])
    edition = seed(sqlite_store, COUNT)
    settings = smtp_settings(server.port, smtp_concurrency=1, send_batch_size=50)
    report = await send_all(sqlite_store, settings, edition)
    assert report.counts["sent"] == COUNT
    # At each final dot, had the next MAIL already arrived in the same read?
    assert server.script.mail_with_dot == [True] * (COUNT - 1) + [False]
    assert server.script.pipelined == [True] * COUNT  # and its RCPT with it
    assert server.accepted_by() == {address(i): 1 for i in range(COUNT)}


V = address(2)  # the message whose dot (or envelope) meets the fault
NEXT = address(3)  # its envelope went out with V's final dot
FAULTS = {
    # rule, V's (state, attempts), copies of V's body the server read, NEXT's attempts
    "5xx to the dot": (Rule("body", "554 5.6.0 refused", match=V, times=1), ("failed", 1), 1, 1),
    "4xx to the dot": (Rule("body", "451 4.3.0 later", match=V, times=1), ("sent", 2), 2, 1),
    "550 at RCPT of the next envelope": (
        Rule("rcpt", "550 5.1.1 no such user", match=NEXT, times=1),
        ("sent", 1),
        1,
        1,
    ),
    "drop after the dot, before its reply": (
        Rule("body", "drop", match=V, times=1),
        ("unknown", 1),
        1,
        1,
    ),
    "drop after the next envelope's 354": (
        Rule("after354", "drop", match=NEXT, times=1),
        ("sent", 1),
        1,
        1,  # retried at once on a fresh connection: its body had not gone out
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_fault_around_the_dot_loses_nothing_and_sends_nothing_twice(
    sqlite_store: Store, started: list[FaultServer], fault: str
) -> None:
    rule, victim, copies, next_attempts = FAULTS[fault]
    server = start(started, [rule])
    edition = seed(sqlite_store, COUNT)
    settings = smtp_settings(server.port, smtp_concurrency=1, send_batch_size=50)
    await send_all(sqlite_store, settings, edition)
    got = states(sqlite_store, edition.id)
    assert got[V] == victim
    refused_next = rule.stage == "rcpt"
    assert got[NEXT] == (("failed", 1) if refused_next else ("sent", next_attempts))
    others = [address(i) for i in range(COUNT) if address(i) not in (V, NEXT)]
    assert all(got[a] == ("sent", 1) for a in others), got
    # Bodies the server read to the final dot: each once, V as often as it was tried.
    delivered = server.delivered()
    assert delivered[V] == copies
    assert delivered[NEXT] == (0 if refused_next else 1)
    assert all(delivered[a] == 1 for a in others)
    # Accepted (250 to the dot): never twice, and exactly the rows the ledger calls sent.
    accepted = server.accepted_by()
    assert set(accepted.values()) <= {1}
    assert set(accepted) == {a for a, (state, _n) in got.items() if state == "sent"}
    assert server.script.mail_with_dot.count(True) >= 2  # the faults met coalesced dots


async def test_a_named_next_message_is_sent_only_by_its_own_send(
    started: list[FaultServer],
) -> None:
    """Its envelope is out, its body is not: not owned, or never sent, the server has
    nothing of it; the message after it goes out on a fresh connection."""
    server = start(started, [])
    a, b, c, d = (build_message(Subscriber(id=i, email=address(i), name="R")) for i in range(4))

    async def refuse() -> bool:
        return False

    async with open_transport(smtp_settings(server.port)) as transport:
        assert (await transport.send(a, then=b)).state == "sent"
        result = await transport.send(b, on_data=refuse, then=c)
        assert (result.state, result.text) == ("deferred", NOT_OWNED)
        assert (await transport.send(c, then=d)).state == "sent"
        # d is never sent: its envelope went with c's dot, and the transport closes.
    assert server.delivered() == {address(0): 1, address(2): 1}
    assert server.script.mail_with_dot == [True, True]
