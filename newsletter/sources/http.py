"""The one HTTP helper every source fetches through: retries, backoff, Retry-After, pacing.

Retried: HTTP 429 and 5xx, transport errors (connection refused/reset) and timeouts.
Not retried: other 4xx answers, which will not improve by asking again; their reason is
taken from the body when the source knows how to read it (``explain``).
Every attempt to a paced host (arXiv) waits for its slot in the ``Pacer``.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime

import httpx

from newsletter.config import Settings
from newsletter.errors import SourceError
from newsletter.sources.pacer import Pacer
from newsletter.text import one_line

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Explain = Callable[[bytes], str | None]

BACKOFF_BASE = 1.0  # seconds before the first retry; doubles each time
MAX_WAIT = 60.0  # cap on any single wait, Retry-After included
MAX_BYTES = 32 * 1024 * 1024  # a daily feed is well under 1 MB; refuse runaway bodies
ERROR_BODY_BYTES = 64 * 1024  # enough for an error document; the rest is not read


def client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An ``AsyncClient`` suited to the sources: descriptive User-Agent, redirects followed."""
    return httpx.AsyncClient(
        headers={"User-Agent": settings.user_agent},
        timeout=settings.http_timeout,
        follow_redirects=True,
        transport=transport,
    )


def retry_after(value: str | None, *, now: datetime, cap: float = MAX_WAIT) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), capped."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), cap)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), cap)


def backoff_delay(attempt: int, base: float, cap: float = MAX_WAIT) -> float:
    """Exponential backoff with jitter: about ``base * 2**attempt``, between 50% and 100%."""
    ceiling = min(cap, base * 2.0**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    source: str,
    retries: int,
    timeout: float,
    user_agent: str | None = None,
    backoff: float = BACKOFF_BASE,
    sleep: Sleep = asyncio.sleep,
    max_bytes: int = MAX_BYTES,
    pacer: Pacer | None = None,
    explain: Explain | None = None,
) -> bytes:
    """GET ``url`` and return the body; raise ``SourceError(source, reason)`` when it fails.

    Makes ``retries + 1`` attempts at most, each in its own ``pacer`` slot when given.
    ``explain(body)`` turns the body of a refused request (4xx) into the upstream's own
    reason. ``backoff`` and ``sleep`` are injectable so that tests run in milliseconds.
    """
    headers = {"User-Agent": user_agent} if user_agent else {}
    attempts = retries + 1
    reason = ""
    for attempt in range(attempts):
        wait: float | None = None
        slot: AbstractAsyncContextManager[None] = (
            pacer.slot(url) if pacer is not None else nullcontext()
        )
        try:
            async with (
                slot,
                client.stream(
                    "GET", url, params=params, headers=headers, timeout=timeout
                ) as response,
            ):
                if response.status_code == 200:
                    return await _read(response, source, max_bytes)
                reason = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    where = _where(response.request.url)
                    why = await _explained(response, explain)
                    raise SourceError(source, f"{reason} from {where}{': ' + why if why else ''}")
                wait = retry_after(response.headers.get("Retry-After"), now=datetime.now(UTC))
        except httpx.TimeoutException:
            reason = f"timed out after {timeout:g}s"
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if attempt + 1 < attempts:
            delay = wait if wait is not None else backoff_delay(attempt, backoff)
            logger.info("%s: %s; retrying in %.1fs", source, reason, delay)
            await sleep(delay)
    raise SourceError(source, f"{reason} after {attempts} attempt{'s' if attempts > 1 else ''}")


async def _read(response: httpx.Response, source: str, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise SourceError(source, f"response larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _explained(response: httpx.Response, explain: Explain | None) -> str:
    """The upstream's own reason for refusing, from the first bytes of its answer ("" if none)."""
    if explain is None:
        return ""
    body = b""
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= ERROR_BODY_BYTES:
            break
    try:
        why = explain(body[:ERROR_BODY_BYTES])
    except Exception:  # an unreadable error document must not hide the status line
        logger.debug("could not read the error document", exc_info=True)
        return ""
    return one_line(why, 300) if why else ""


def _where(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.host}{':' + str(url.port) if url.port else ''}{url.path}"
