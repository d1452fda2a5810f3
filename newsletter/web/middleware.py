"""The access log and the security headers every response carries, and the cap on
request bodies.

The access log names method, path, status, duration and client, with link tokens cut out
(a token is a key to someone's subscription and does not belong in a log file) and the
path kept to one line.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter.text import one_line

access_log = logging.getLogger("newsletter.web.access")

_TOKEN_PATH = re.compile(r"^/(confirm|resubscribe|unsubscribe|preferences|feedback|view)/[^/]+")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


# Every form the app serves fits in a few kilobytes (fields of at most 2,000 characters);
# the same cap as the README's nginx ``client_max_body_size 64k``.
MAX_BODY_BYTES = 64 * 1024


# The path as logged: one line (``text.one_line``: no CR/LF, escape or bidi character
# from a %-encoded path can forge an entry, CWE-117), at most this many characters.
MAX_LOGGED_PATH = 300


def redact(path: str) -> str:
    """``/unsubscribe/abc…`` -> ``/unsubscribe/…``: a path with its link token cut out."""
    return _TOKEN_PATH.sub(lambda m: f"/{m.group(1)}/…", path)


class AccessLogMiddleware:
    """ASGI middleware: one access-log line per request (tokens redacted) and the
    ``SECURITY_HEADERS`` on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; log it and add the headers to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            client = scope.get("client")
            access_log.info(
                '%s "%s %s" %d %.1fms',
                client[0] if client else "-",
                scope["method"],
                one_line(redact(scope["path"]), MAX_LOGGED_PATH),
                status,
                (time.perf_counter() - started) * 1000,
            )


class BodyLimitMiddleware:
    """ASGI middleware: a request body over ``MAX_BODY_BYTES`` is refused with 413 (the
    app's error page), by its Content-Length before anything is read, or as soon as the
    bytes streamed (chunked) pass the cap: a huge form is never buffered in memory nor
    spooled to disk, also without a proxy in front. A body nobody reads (the RFC 8058
    one-click POST) is not counted."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a ``receive`` that counts the body's bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        too_big = declared.isdigit() and int(declared) > self.limit
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            if too_big:
                raise HTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413)
            return message

        await self.app(scope, counted, send)
