"""Reading form fields: topics lists and dates, with ``InputError`` for bad values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from newsletter.errors import InputError

MAX_PAUSE_DAYS = 366


def field(form: object, name: str, limit: int = 2000) -> str:
    """The text of form field ``name`` (``""`` when absent or not text); ``InputError``
    when it is longer than ``limit`` characters."""
    value = form.get(name) if hasattr(form, "get") else None
    if not isinstance(value, str):
        return ""
    if len(value) > limit:
        raise InputError(name, value[:40], f"longer than {limit} characters")
    return value


def pause_date(text: str, today: dt.date) -> dt.date:
    """A date after today and at most a year ahead."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError("paused_until", text[:40], "not a date (YYYY-MM-DD)") from None
    if day <= today:
        raise InputError("paused_until", text, "pick a date after today")
    if day > today + dt.timedelta(days=MAX_PAUSE_DAYS):
        raise InputError("paused_until", text, "pick a date within a year")
    return day


def form_endpoint(
    handler: Callable[[Request, FormData], Response],
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that reads the posted form (the one step that must await), then runs
    ``handler(request, form)`` in Starlette's threadpool, as Starlette does for a plain
    ``def`` endpoint: the handler's synchronous database calls, which may wait up to the
    SQLite busy timeout (30 s) for a write lock, never stall the event loop."""

    async def endpoint(request: Request) -> Response:
        data = await request.form()
        return await run_in_threadpool(handler, request, data)

    endpoint.__name__ = endpoint.__qualname__ = handler.__name__.lstrip("_")
    endpoint.__doc__ = handler.__doc__
    return endpoint
