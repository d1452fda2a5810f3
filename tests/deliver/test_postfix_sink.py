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

from newsletter import pipeline
from newsletter.config import Settings
from newsletter.models import Profile
from newsletter.sources.sample import SAMPLE_DATE
from newsletter.store import ledger, subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from tests.support.needs import need
from tests.support.ports import free_port

SMTP_SINK = Path("/usr/sbin/smtp-sink")
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def postfix_sink(tmp_path: Path) -> Iterator[int]:
    need(SMTP_SINK.exists(), "Postfix's smtp-sink is not installed (apt-get install postfix)")
    need(os.geteuid() == 0, "smtp-sink -u nobody needs root")
    port = free_port()
    process = subprocess.Popen(
        [str(SMTP_SINK), "-u", "nobody", "-c", f"127.0.0.1:{port}", "64"],
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
