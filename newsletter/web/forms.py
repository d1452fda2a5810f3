"""Reading form fields: topics lists and dates, with ``InputError`` for bad values."""

from __future__ import annotations

import datetime as dt

from newsletter.errors import InputError

MAX_PAUSE_DAYS = 366


def field(form: object, name: str, limit: int = 2000) -> str:
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
