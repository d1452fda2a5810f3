"""Shared setup for delivery tests: an edition, N subscribers, a simple composer, settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from newsletter.config import Settings
from newsletter.models import Edition, Message, Paper, Subscriber
from newsletter.store import editions, ledger
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table

DAY = dt.date(2026, 11, 26)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def address(i: int) -> str:
    return f"reader{i:05d}@example.test"


def seed(store: Store, count: int, *, enqueue: bool = True) -> Edition:
    """One frozen edition and ``count`` active subscribers, all queued for it."""
    now = utcnow()
    paper = Paper("2411.00001", "A paper", "An abstract.", sources=("sample",))
    rows = [
        {
            "email": address(i),
            "name": f"Reader {i}",
            "topics": ["papers"],
            "categories": [],
            "authors": [],
            "exclude": [],
            "status": "active",
            "frequency": "daily",
            "bounce_score": 0.0,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with store.begin() as conn:
        edition = editions.freeze(conn, DAY, [paper], sources=["sample"], now=now)
        for start in range(0, len(rows), 1000):
            conn.execute(insert(subscribers_table), rows[start : start + 1000])
        if enqueue:
            ids = list(
                conn.execute(
                    subscribers_table.select().with_only_columns(subscribers_table.c.id)
                ).scalars()
            )
            ledger.enqueue(conn, edition.id, ids, now)
    return edition


def build_message(sub: Subscriber, sender: str = "Daily Papers <papers@example.org>") -> Message:
    """A small multipart/alternative email with the list headers, CRLF line endings."""
    html = f"<p>Hello {sub.name}</p>"
    message_id = f"<{DAY}.{sub.id}@example.org>"
    lines = [
        f"From: {sender}",
        f"To: {sub.email}",
        "Subject: Papers for you",
        "Date: Thu, 26 Nov 2026 06:00:00 +0000",
        f"Message-ID: {message_id}",
        "List-Id: Daily Papers <papers.example.org>",
        f"List-Unsubscribe: <https://example.org/unsubscribe/{sub.id}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="b1"',
        "",
        "--b1",
        'Content-Type: text/plain; charset="utf-8"',
        "",
        f"Hello {sub.name}",
        ".leading dot line",
        "--b1",
        'Content-Type: text/html; charset="utf-8"',
        "",
        html,
        "--b1--",
        "",
    ]
    return Message(
        subscriber_id=sub.id,
        to=sub.email,
        sender=sender,
        message_id=message_id,
        subject="Papers for you",
        data="\r\n".join(lines).encode(),
        html=html,
        text=f"Hello {sub.name}",
    )


def compose(subs: Sequence[Subscriber]) -> list[Message]:
    return [build_message(s) for s in subs]


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
    }
    if tmp_path is not None:
        values["outbox_dir"] = tmp_path / "outbox"
    values.update(overrides)
    return Settings(_env_file=None, **values)
