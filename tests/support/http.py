"""The HTTP stub: a real ``ThreadingHTTPServer`` on 127.0.0.1 in a thread, configured per
test, recording every request.

    with StubServer().running() as stub:          (or a folder's fixture)
        url = stub.script("/feed", Reply(500), Reply(200, b"ok"))   answers in order; the
                                                                     last one repeats
        stub.route("/api/", answer)        answer(path, query, now) -> Reply, for servers
                                           with state (``fake_hf``, ``fake_arxiv``)
        stub.fail("/api/", until=moment)   an outage (503) until the clock reaches ``until``
        stub.requests("/feed")             -> [Hit], in arrival order

Anything else answers 404. A ``Reply`` may wait ``delay`` seconds (a slow server, for
timeout tests) or hold at a ``gate`` barrier (to prove requests overlap). Each ``Hit``
keeps the path, the query (last value of each name), the headers, the stub clock's "now"
(``at``), the status, and ``time.monotonic()`` when the request arrived and just before
its answer's first byte (``answered``), so tests can assert the spacing of requests.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.support.clock import FakeClock


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds the server waits before answering (a real wait)
    # Held until every party of the barrier has arrived; a broken barrier answers 500.
    gate: threading.Barrier | None = None


@dataclass
class Hit:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: dt.datetime | None  # the stub clock's "now" when it came (None without a clock)
    arrived: float = 0.0
    answered: float = 0.0
    status: int = 0


@dataclass
class Outage:
    prefix: str
    until: dt.datetime | None
    status: int
    where: Callable[[dict[str, str]], bool] | None = None


Answer = Callable[[str, dict[str, str], dt.datetime | None], Reply]


class StubServer:
    """One configurable HTTP server for every test that needs an upstream."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.scripts: dict[str, list[Reply]] = {}
        self.routes: list[tuple[str, Answer]] = []
        self.outages: list[Outage] = []
        self.hits: list[Hit] = []
        self.lock = threading.RLock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                now = stub.clock() if stub.clock is not None else None
                hit = Hit(parts.path, query, dict(self.headers.items()), now, time.monotonic())
                with stub.lock:
                    stub.hits.append(hit)
                    reply = stub._reply(parts.path, query, now)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.gate is not None:
                    try:
                        reply.gate.wait()
                    except threading.BrokenBarrierError:
                        reply = Reply(500, b"not concurrent")
                hit.status = reply.status
                hit.answered = time.monotonic()  # before a byte goes out: a lower bound
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[StubServer]:
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

    def script(self, path: str, *replies: Reply) -> str:
        """Answer requests for exactly ``path`` with ``replies`` in order (the last one
        repeats for ever); the URL of ``path``."""
        with self.lock:
            self.scripts[path] = list(replies)
        return self.url + path

    def route(self, prefix: str, answer: Answer) -> None:
        """Answer requests under ``prefix`` (not scripted) with ``answer(path, query, now)``;
        it runs under ``self.lock``."""
        with self.lock:
            self.routes.append((prefix, answer))

    def fail(
        self,
        prefix: str,
        *,
        until: dt.datetime | None = None,
        status: int = 503,
        where: Callable[[dict[str, str]], bool] | None = None,
    ) -> None:
        """Answer ``status`` to requests under ``prefix`` (while the clock is before
        ``until``, and whose query passes ``where``)."""
        if until is not None and self.clock is None:
            raise ValueError("an outage with an end needs the stub's clock")
        with self.lock:
            self.outages.append(Outage(prefix, until, status, where))

    def requests(self, prefix: str = "/") -> list[Hit]:
        """The requests whose path starts with ``prefix``, in arrival order."""
        with self.lock:
            return [hit for hit in self.hits if hit.path.startswith(prefix)]

    def forget(self) -> None:
        """Drop the record of requests so far."""
        with self.lock:
            self.hits.clear()

    def _reply(self, path: str, query: dict[str, str], now: dt.datetime | None) -> Reply:
        for outage in self.outages:
            if (
                path.startswith(outage.prefix)
                and (outage.until is None or (now is not None and now < outage.until))
                and (outage.where is None or outage.where(query))
            ):
                return Reply(outage.status, b"upstream unavailable", text_plain())
        queue = self.scripts.get(path)
        if queue:
            return queue.pop(0) if len(queue) > 1 else queue[0]
        for prefix, answer in sorted(self.routes, key=lambda route: -len(route[0])):
            if path.startswith(prefix):
                return answer(path, query, now)
        return Reply(404, b"not found\n", text_plain())


def text_plain() -> dict[str, str]:
    return {"Content-Type": "text/plain"}


@contextmanager
def running_stub(clock: FakeClock | None = None) -> Iterator[StubServer]:
    with StubServer(clock).running() as stub:
        yield stub
