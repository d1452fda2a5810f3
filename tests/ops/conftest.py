"""A real SMTP sink (aiosmtpd on 127.0.0.1) and a real HTTP server, for alerts and ``doctor``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import Sink, smtp_sink
from tests.deliver.smtpserver import free_port

__all__ = ["Sink", "free_port", "smtp_sink"]


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/health" else 404
        body = b"ok\n" if status == 200 else b"not found\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def http_server() -> Iterator[str]:
    """A web server on 127.0.0.1 that answers ``/health`` with 200; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
