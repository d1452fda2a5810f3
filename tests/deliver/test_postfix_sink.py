"""The SMTP transport against a server that is not Python: Postfix's smtp-sink."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._support import address, build_message
from newsletter import pipeline
from newsletter.config import Settings
from newsletter.deliver.smtp import SmtpTransport
from newsletter.models import Profile, SendResult, Subscriber
from newsletter.sources.sample import SAMPLE_DATE
from newsletter.store import ledger, subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from tests.support.needs import need
from tests.support.ports import free_port

SMTP_SINK = Path("/usr/sbin/smtp-sink")
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def postfix_sink(request: pytest.FixtureRequest) -> Iterator[int]:
    """smtp-sink on a free port; ``@pytest.mark.parametrize("postfix_sink", [[...]],
    indirect=True)`` passes extra options (``-p``: no PIPELINING; ``-q RCPT``: hang up)."""
    need(SMTP_SINK.exists(), "Postfix's smtp-sink is not installed (apt-get install postfix)")
    need(os.geteuid() == 0, "smtp-sink -u nobody needs root")
    port = free_port()
    options = list(getattr(request, "param", []))
    process = subprocess.Popen(
        [str(SMTP_SINK), "-u", "nobody", *options, "-c", f"127.0.0.1:{port}", "64"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "smtp-sink exited"
                assert time.monotonic() < deadline, "smtp-sink did not listen"
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_daily_run_through_postfix_smtp_sink(tmp_path: Path, postfix_sink: int) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'n.db'}",
        sources="sample",
        delivery="smtp",
        smtp_host="127.0.0.1",
        smtp_port=postfix_sink,
        smtp_security="none",
        smtp_concurrency=4,
        secret_key="s" * 32,
        archive_dir=tmp_path / "archive",
    )
    store = Store.open(settings.database_url, now=NOW)
    with store.begin() as conn:
        for i in range(60):
            topics = (("diffusion models",), ("robot manipulation", "speech"), ())[i % 3]
            subscribers.add(conn, f"reader{i:02d}@example.test", now=NOW, profile=Profile(topics))

    report = asyncio.run(
        pipeline.run_daily(
            store, settings, Signer.from_secrets("s" * 32), date=SAMPLE_DATE, clock=lambda: NOW
        )
    )

    assert report.outcome == "ok", report.reason
    assert report.edition_id is not None
    with store.begin() as conn:
        rows = ledger.rows(conn, report.edition_id)
    assert len(rows) == 60
    assert {row.state for row in rows} == {"sent"}
    assert all(row.last_code == 250 for row in rows)


def _settings(port: int) -> Settings:
    return Settings(
        _env_file=None,
        delivery="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_timeout=5.0,
        smtp_concurrency=4,
        secret_key="s" * 32,
    )


async def _send_all(port: int, count: int) -> tuple[list[SendResult], SmtpTransport]:
    async with SmtpTransport(_settings(port)) as transport:
        messages = [build_message(Subscriber(id=i + 1, email=address(i))) for i in range(count)]
        results = await asyncio.gather(*(transport.send(m) for m in messages))
    return list(results), transport


@pytest.mark.parametrize(
    ("postfix_sink", "grouped"), [([], True), (["-p"], False)], indirect=["postfix_sink"]
)
async def test_envelopes_are_pipelined_where_postfix_offers_it(
    postfix_sink: int, grouped: bool
) -> None:
    results, transport = await _send_all(postfix_sink, 40)
    assert [(r.state, r.code) for r in results] == [("sent", 250)] * 40
    assert transport.pipelined == (40 if grouped else 0)
    assert transport.connections_opened <= 4


@pytest.mark.parametrize("postfix_sink", [["-q", "RCPT"]], indirect=True)
async def test_a_hang_up_in_the_middle_of_a_group_defers_and_sends_nothing(
    postfix_sink: int,
) -> None:
    results, transport = await _send_all(postfix_sink, 6)
    assert transport.pipelined >= 6
    assert {(r.state, r.code, r.stage) for r in results} == {("deferred", None, "rcpt")}


@pytest.mark.parametrize(
    ("postfix_sink", "grouped"), [([], True), (["-p"], False)], indirect=["postfix_sink"]
)
async def test_each_next_envelope_goes_with_the_previous_final_dot(
    postfix_sink: int, grouped: bool
) -> None:
    """A chain of sends naming the next message (``then``) on one connection: Postfix
    answers every dot and every envelope behind it in order (RFC 2920 section 3.1)."""
    settings = _settings(postfix_sink).model_copy(update={"smtp_concurrency": 1})
    messages = [build_message(Subscriber(id=i + 1, email=address(i))) for i in range(40)]
    async with SmtpTransport(settings) as transport:
        results = [
            await transport.send(m, then=messages[i + 1] if i + 1 < len(messages) else None)
            for i, m in enumerate(messages)
        ]
    assert [(r.state, r.code) for r in results] == [("sent", 250)] * 40
    assert transport.connections_opened == 1
    assert transport.pipelined == (40 if grouped else 0)
