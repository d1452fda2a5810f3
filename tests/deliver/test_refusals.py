"""Refusals at send time: which say something about the reader, and which stop the run.

Issue 12 ("the whole list lost in one run") and issue 15 item 4: a refusal of the message
itself, or of our own setup, scores no reader; only recipient-specific refusals do, and
one refusal is not enough to suppress a reader who has received mail before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from newsletter.config import Settings
from newsletter.models import Edition, Paper
from newsletter.store import editions, ledger
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table
from tests.support.delivery import address, seed, send_all, smtp_settings, utcnow
from tests.support.faultsmtp import FaultServer, Rule


@pytest.fixture
def server_factory() -> Iterator[Callable[..., FaultServer]]:
    started: list[FaultServer] = []

    def start(*args: Any, **kwargs: Any) -> FaultServer:
        server = FaultServer.start(*args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def readers(store: Store) -> dict[str, tuple[str, float]]:
    """email -> (status, bounce score)"""
    with store.begin() as conn:
        rows = conn.execute(
            select(
                subscribers_table.c.email,
                subscribers_table.c.status,
                subscribers_table.c.bounce_score,
            )
        ).all()
    return {email: (status, score) for email, status, score in rows}


def counts(store: Store, edition: Edition) -> dict[str, int]:
    with store.begin() as conn:
        return ledger.counts(conn, edition.id)


def another_edition(store: Store, date: dt.date) -> Edition:
    """A second day's edition for every subscriber."""
    now = utcnow()
    with store.begin() as conn:
        edition = editions.freeze(
            conn,
            date,
            [Paper(f"2411.{date.day:05d}", "P", "A.", sources=("sample",))],
            sources=["sample"],
            now=now,
        )
        ids = conn.execute(select(subscribers_table.c.id)).scalars().all()
        ledger.enqueue(conn, edition.id, ids, now)
    return edition


MESSAGE_REFUSALS = [
    Rule("data", "554 Transaction failed"),
    Rule("body", "552 5.2.3 Message size exceeds fixed maximum message size"),
    Rule("body", "554 5.7.1 Message rejected as spam by Content Filtering"),
    Rule("body", "554 5.6.0 Message content rejected"),
]


@pytest.mark.parametrize("rule", MESSAGE_REFUSALS, ids=lambda r: f"{r.stage}-{r.action[:9]}")
async def test_a_refusal_of_the_message_itself_scores_no_reader_and_pauses_the_run(
    store: Store, server_factory: Callable[..., FaultServer], rule: Rule
) -> None:
    server = server_factory([rule])  # the same refusal for every reader
    edition = seed(store, 10)
    settings = smtp_settings(server.port, smtp_concurrency=2, send_batch_size=5)
    report = await send_all(store, settings, edition)
    assert set(readers(store).values()) == {("active", 0.0)}  # nobody bounced, nobody scored
    assert report.stopped is not None and "refused" in report.stopped
    assert rule.action.split()[0] in report.stopped
    state = counts(store, edition)
    # paused after SEND_PAUSE_AFTER_REFUSALS identical refusals (plus what was in flight);
    # the rest wait for the next run
    assert settings.send_pause_after_refusals <= state["failed"] <= 4
    assert state["pending"] == 10 - state["failed"] and not report.finished
    # the relay is fixed: the next run sends the rest, once each
    server.script.rules.clear()
    again = await send_all(store, settings, edition)
    assert again.stopped is None and again.sent_now == state["pending"]
    assert set(server.accepted_by().values()) == {1}


SETUP_REFUSALS = [
    Rule("rcpt", "554 5.7.1 <reader@example.test>: Relay access denied"),
    Rule("rcpt", "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"),
    Rule("data", "500 5.5.1 Command unrecognized"),
    Rule("body", "554 5.3.0 Mail system full"),
    Rule("mail", "550 5.7.1 Sender address rejected: not owned by user"),
    Rule("mail", "530 5.7.0 Authentication required"),
    Rule("mail", "535 5.7.8 Authentication credentials invalid"),
]


@pytest.mark.parametrize("rule", SETUP_REFUSALS, ids=lambda r: f"{r.stage}-{r.action[:3]}")
async def test_a_refusal_of_our_own_setup_stops_the_run_and_leaves_readers_alone(
    store: Store, server_factory: Callable[..., FaultServer], rule: Rule
) -> None:
    server = server_factory([rule])
    edition = seed(store, 10)
    settings = smtp_settings(server.port, smtp_concurrency=2, send_batch_size=5)
    report = await send_all(store, settings, edition)
    assert set(readers(store).values()) == {("active", 0.0)}
    assert report.stopped is not None and rule.action[:3] in report.stopped
    state = counts(store, edition)
    assert state["failed"] == 0 and state["sent"] == 0 and not report.finished
    # what was tried is kept for the next run (due at once), the rest is still pending
    assert state["deferred"] + state["pending"] == 10
    server.script.rules.clear()
    again = await send_all(store, settings, edition)
    assert again.finished and again.counts["sent"] == 10
    assert sorted(server.accepted_by()) == sorted(address(i) for i in range(10))


async def test_too_many_failures_stop_the_run(
    sqlite_store: Store, server_factory: Callable[..., FaultServer]
) -> None:
    dead = [address(i) for i in range(0, 60, 2)]
    server = server_factory([Rule("rcpt", f"550 5.1.1 <{a}>: no such user", match=a) for a in dead])
    edition = seed(sqlite_store, 60)
    settings = smtp_settings(server.port, send_failure_stop_share=0.3, send_batch_size=10)
    report = await send_all(sqlite_store, settings, edition)
    assert report.stopped is not None and "failed" in report.stopped
    state = counts(sqlite_store, edition)
    assert state["pending"] > 0 and state["sent"] + state["failed"] < 60


def clock_at(offset: dt.timedelta) -> Callable[[], dt.datetime]:
    return lambda: utcnow() + offset


async def test_one_refusal_at_rcpt_does_not_suppress_a_reader_who_has_had_mail(
    store: Store, server_factory: Callable[..., FaultServer]
) -> None:
    victim = address(1)
    server = server_factory()
    first = seed(store, 3)
    settings = smtp_settings(server.port)
    assert (await send_all(store, settings, first)).counts["sent"] == 3  # the reader had mail
    server.script.rules.append(Rule("rcpt", "550 5.1.1 user unknown", match=victim))
    second = another_edition(store, first.date + dt.timedelta(days=1))
    await send_all(store, settings, second)
    status, score = readers(store)[victim]
    assert status == "active" and score == settings.bounce_soft_score
    # refused again the same day: still one day of refusals
    third = another_edition(store, first.date + dt.timedelta(days=2))
    await send_all(store, settings, third)
    assert readers(store)[victim][0] == "active"
    # refused again on another day: now it is a hard bounce
    fourth = another_edition(store, first.date + dt.timedelta(days=3))
    await send_all(store, settings, fourth, clock_at(dt.timedelta(days=1)))
    assert readers(store)[victim][0] == "bounced"
    assert {e: s for e, (s, _score) in readers(store).items() if e != victim} == {
        address(0): "active",
        address(2): "active",
    }


async def test_a_refused_address_that_never_received_mail_is_suppressed_at_once(
    sqlite_store: Store, server_factory: Callable[..., FaultServer]
) -> None:
    victim = address(0)
    server = server_factory([Rule("rcpt", "550 5.1.1 user unknown", match=victim)])
    edition = seed(sqlite_store, 2)
    settings = smtp_settings(server.port)
    await send_all(sqlite_store, settings, edition)
    assert readers(sqlite_store)[victim][0] == "bounced"


def test_settings_name_the_thresholds() -> None:
    fields: Sequence[str] = ("send_pause_after_refusals", "send_failure_stop_share")
    assert all(name in Settings.model_fields for name in fields)
