"""What the bench scripts share, so that no bench script imports ``tests``.

- ``SmtpServer``: aiosmtpd on 127.0.0.1 that accepts every message, or answers 451 at
  RCPT for greylisted recipients (once, or every time);
- ``seed``, ``compose``, ``smtp_settings``: an edition of N readers queued in the ledger,
  a small fixed message per reader (the send loop is measured, not rendering), settings;
- ``hf_day``, ``sections_by_topic``: a real Hugging Face day as papers (parsed by the
  library's own source), dealt into one section per topic.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import insert

from newsletter.config import Settings
from newsletter.models import Edition, Message, Paper, RankedItem, Section, Subscriber
from newsletter.sources import hf_daily
from newsletter.store import editions, ledger
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table

DAY = dt.date(2026, 11, 26)
LARGEST_DAY = "hf_daily_papers_2026-08-18.json"  # 29 papers
RENDER_NOW = dt.datetime(2026, 8, 18, 6, 30, tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def address(i: int) -> str:
    return f"reader{i:05d}@example.test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- an SMTP server on 127.0.0.1 ---------------------------------------------------------


class _Handler:
    def __init__(self, greylist: dict[str, int | None]) -> None:
        self.greylist = greylist  # recipient -> 451s still to give (None: for ever)
        self.accepted = 0
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            if address in self.greylist:
                left = self.greylist[address]
                if left is None or left > 0:
                    if left is not None:
                        self.greylist[address] = left - 1
                    return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.accepted += 1
            return f"250 2.0.0 OK queued as q{self.accepted}"


class SmtpServer:
    """``SmtpServer.start(greylist={address: times})``; ``.port``, ``.accepted``, ``.stop()``."""

    def __init__(self, handler: _Handler, controller: Controller, port: int) -> None:
        self.handler = handler
        self.controller = controller
        self.host = "127.0.0.1"
        self.port = port

    @classmethod
    def start(cls, greylist: dict[str, int | None] | None = None) -> SmtpServer:
        handler = _Handler(dict(greylist or {}))
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
        controller.start()
        return cls(handler, controller, port)

    @property
    def accepted(self) -> int:
        return self.handler.accepted

    def stop(self) -> None:
        self.controller.stop()


# --- an edition to send ---------------------------------------------------------------------


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
    message_id = f"<{DAY}.{sub.id}@example.org>"
    html = f"<p>Hello {sub.name}</p>"
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
        ".leading dot line",  # dot-stuffing (RFC 5321 4.5.2) is on every message's path
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


def smtp_settings(port: int, **overrides: Any) -> Settings:
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
        "secret_key": "bench-secret",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


# --- a real day of papers to render -----------------------------------------------------------


def hf_day(path: Path) -> list[Paper]:
    """The papers of one captured Hugging Face Daily Papers answer."""
    return hf_daily.parse(path.read_bytes())


def edition_of(papers: list[Paper], day: dt.date) -> Edition:
    return Edition(id=1, date=day, papers=tuple(papers), created_at=RENDER_NOW)


def sections_by_topic(papers: list[Paper], topics: tuple[str, ...]) -> tuple[Section, ...]:
    """Every paper once, dealt into one section per topic (ranking is not measured)."""
    sections = []
    for index, topic in enumerate(topics):
        items = tuple(
            RankedItem(paper=p, score=1.0, topic=topic, matched_terms=(topic,), reason=topic)
            for p in papers[index :: len(topics)]
        )
        sections.append(Section(title=topic, items=items, topic=topic))
    return tuple(sections)
