"""The HTTP plumbing of the fake upstreams: a real ``ThreadingHTTPServer`` on 127.0.0.1 in a
thread, answers from the test's ``Clock``, scripted outages, and a record of every request
with its arrival time and the time its answer started (``time.monotonic()``)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


class Clock:
    """The test's "now": an aware datetime the test sets and moves."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, now: dt.datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Hit:
    path: str
    query: dict[str, str]
    at: dt.datetime  # the test clock's "now" when it came
    arrived: float = 0.0
    answered: float = 0.0
    status: int = 0


@dataclass
class Outage:
    prefix: str
    until: dt.datetime | None
    status: int
    where: Callable[[dict[str, str]], bool] | None = None


class FakeUpstream:
    """The HTTP plumbing shared by both fakes: answers come from ``answer``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.hits: list[Hit] = []
        self.outages: list[Outage] = []
        self.lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                hit = Hit(parts.path, query, upstream.clock(), time.monotonic())
                with upstream.lock:
                    upstream.hits.append(hit)
                    status, kind, body = upstream._answer(parts.path, query)
                hit.status = status
                hit.answered = time.monotonic()  # before a byte goes out
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[FakeUpstream]:
        thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join(timeout=5)

    def fail(
        self,
        prefix: str,
        *,
        until: dt.datetime | None = None,
        status: int = 503,
        where: Callable[[dict[str, str]], bool] | None = None,
    ) -> None:
        """Answer ``status`` to requests under ``prefix`` (while now < ``until``)."""
        with self.lock:
            self.outages.append(Outage(prefix, until, status, where))

    def requests(self, prefix: str = "/") -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.path.startswith(prefix)]

    def _answer(self, path: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        now = self.clock()
        for outage in self.outages:
            if (
                path.startswith(outage.prefix)
                and (outage.until is None or now < outage.until)
                and (outage.where is None or outage.where(query))
            ):
                return outage.status, "text/plain", b"upstream unavailable"
        return self.answer(path, query, now)

    def answer(self, path: str, query: dict[str, str], now: dt.datetime) -> tuple[int, str, bytes]:
        raise NotImplementedError
