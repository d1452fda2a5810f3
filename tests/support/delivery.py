"""Shared setup for delivery tests: an edition, N subscribers, a simple composer, settings.

The edition, subscribers and messages are the benchmarks' own (``bench/_support.py``), so
the tests and the benchmarks send the same thing; only the settings differ (a tmp path)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._support import DAY, address, build_message, compose, seed, utcnow
from newsletter.config import Settings
from newsletter.deliver import open_transport
from newsletter.models import Edition
from newsletter.outbox.send import SendReport, send_edition
from newsletter.store import locks
from newsletter.store.db import Store


def smtp_settings(port: int, tmp_path: Path | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "delivery": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_timeout": 2.0,
        "message_timeout": 5.0,
        "smtp_concurrency": 4,
        "retry_base_delay": 0.2,
        "retry_max_delay": 1.0,
        "retry_in_run_max_wait": 1.5,
        "send_batch_size": 20,
        "worker_lease": 30.0,
        "secret_key": "test-secret",
        # One sender process unless a test asks for more (SEND_PROCESSES defaults to the
        # usable cores): these tests count connections, claims and senders of one process.
        "send_processes": 1,
    }
    if tmp_path is not None:
        values["outbox_dir"] = tmp_path / "outbox"
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def send_all(
    store: Store,
    settings: Settings,
    edition: Edition,
    clock: Callable[[], dt.datetime] = utcnow,
) -> SendReport:
    """One ``send_edition`` of ``edition`` with the simple composer, over the transport the
    settings name, as worker "test" on ``clock`` (the real one by default)."""
    async with open_transport(settings) as transport:
        return await send_edition(
            store,
            settings,
            edition,
            compose,
            transport,
            worker=locks.holder_id("test"),
            clock=clock,
        )


__all__ = [
    "DAY",
    "address",
    "build_message",
    "compose",
    "seed",
    "send_all",
    "smtp_settings",
    "utcnow",
]
