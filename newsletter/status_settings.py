"""The settings ``newsletter status`` reads, without pydantic: a small read-only reader.

``status`` must start in well under half a second; importing pydantic-settings (and the
email-validator its address fields use) costs more than that on a busy machine. So
``status`` reads only the eleven settings it uses, with the same sources and the same
rules as ``newsletter.config.Settings``:

- the same sources in the same order: ``NEWSLETTER_*`` variables (names in any case) over
  the settings file (read by python-dotenv's ``dotenv_values``, the parser pydantic-settings
  uses; a path that is no file or FIFO is skipped, as there);
- the same checks and the same one-line errors (``SettingsError`` naming the variable,
  with pydantic's wording; ``SettingsFileError`` for a file that is not UTF-8 or cannot be
  read); ``TIMEZONE``, ``DATABASE_URL`` and ``SOURCES`` use the very functions ``config``
  uses. ``tests/config/test_status_settings.py`` feeds both readers the same values, good
  and bad, and a damaged file, and checks that they agree.

A bad value in a setting ``status`` does not read (``SMTP_PORT``, say) is not reported
here: ``newsletter doctor`` and every other command check all of them.
"""

from __future__ import annotations

import math
import os
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsletter.errors import SettingsError, SettingsFileError
from newsletter.source_list import SourceSpec, parse_sources

ENV_PREFIX = "NEWSLETTER_"
HOUR = 3600.0
DAY = 24 * HOUR


def check_timezone(value: str) -> str:
    """``value`` when it names an IANA time zone; ``ValueError`` otherwise."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def check_database_url(value: str) -> str:
    """``value`` when it is a SQLite or PostgreSQL URL; ``ValueError`` otherwise."""
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
        raise ValueError(f"must be sqlite:///PATH or postgresql://..., got {value!r}")
    return value


def check_sources(value: str) -> str:
    """``value`` when ``parse_sources`` accepts it; its ``ValueError`` otherwise."""
    parse_sources(value)
    return value


def not_utf8(exc: UnicodeDecodeError) -> str:
    """Where the first byte that is not UTF-8 is: offset (from 0), line and column (from 1)."""
    data = bytes(exc.object)
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return (
        f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} "
        f"(line {line}, column {column}); save the file as UTF-8"
    )


# pydantic's wording for the checks below (pydantic-core's error messages).
_NOT_A_NUMBER = "Input should be a valid number, unable to parse string as a number"
_NOT_FINITE = "Input should be a finite number"
_NOT_A_BOOL = "Input should be a valid boolean, unable to interpret input"
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
_NUMBER = re.compile(
    r"[+-]?(\d(_?\d)*\.?(\d(_?\d)*)?|\.\d(_?\d)*)([eE][+-]?\d(_?\d)*)?|[+-]?(inf|infinity|nan)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Float:
    """A float between ``low`` (excluded when ``low_open``) and ``high``, finite, as pydantic
    checks ``Field(gt=low | ge=low, le=high)`` with ``allow_inf_nan=False``."""

    low: float
    high: float
    low_open: bool

    def __call__(self, value: str) -> float:
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            raise ValueError(_NOT_A_NUMBER)
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(_NOT_FINITE)
        if self.low_open and number <= self.low:
            raise ValueError(f"Input should be greater than {self.low:g}")
        if not self.low_open and number < self.low:
            raise ValueError(f"Input should be greater than or equal to {self.low:g}")
        if number > self.high:
            raise ValueError(f"Input should be less than or equal to {self.high:g}")
        return number


@dataclass(frozen=True, slots=True)
class _Choice:
    """One of ``choices``, as pydantic checks a ``Literal``."""

    choices: tuple[str, ...]

    def __call__(self, value: str) -> str:
        if value not in self.choices:
            quoted = [f"'{c}'" for c in self.choices]
            raise ValueError(f"Input should be {', '.join(quoted[:-1])} or {quoted[-1]}")
        return value


def _optional_bool(value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(_NOT_A_BOOL)


# Field -> (default, check), in the order Settings declares them: the first bad one is
# the one reported, as pydantic reports the first failing field.
FIELDS: dict[str, tuple[Any, Callable[[str], Any]]] = {
    "database_url": ("sqlite:///subscribers/newsletter.db", check_database_url),
    "give_up_after_hours": (72.0, _Float(0, 90 * 24, low_open=True)),
    "verp": (None, _optional_bool),
    "timezone": ("UTC", check_timezone),
    "sources": ("hf_daily,arxiv_rss:cs.LG+cs.CL", check_sources),
    "missing_source_wait_hours": (8.0, _Float(0, 23, low_open=False)),
    "imap_host": (None, str),
    "schedule": ("daily", _Choice(("daily", "weekdays", "weekly"))),
    "weekly_day": ("mon", _Choice(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))),
    "run_timeout": (3600.0, _Float(0, 7 * DAY, low_open=True)),
    "log_file": (None, Path),
}


@dataclass(frozen=True, slots=True)
class StatusSettings:
    """The settings ``status`` uses (same names, values and meaning as on ``Settings``)."""

    database_url: str
    give_up_after_hours: float
    verp: bool | None
    timezone: str
    sources: str
    missing_source_wait_hours: float
    imap_host: str | None
    schedule: str
    weekly_day: str
    run_timeout: float
    log_file: Path | None

    @property
    def uses_verp(self) -> bool:
        """As ``Settings.uses_verp``: ``VERP`` when set, else whether IMAP_HOST is set."""
        return self.verp if self.verp is not None else bool(self.imap_host)

    @property
    def source_specs(self) -> list[SourceSpec]:
        """As ``Settings.source_specs``: ``SOURCES`` parsed."""
        return parse_sources(self.sources)


def _file_values(env_file: str | Path | None) -> Mapping[str, str | None]:
    if env_file is None:
        return {}
    path = Path(env_file).expanduser()
    if not (path.is_file() or path.is_fifo()):
        return {}
    from dotenv import dotenv_values

    try:
        found = dotenv_values(path, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsFileError(str(env_file), not_utf8(exc)) from None
    except OSError as exc:
        raise SettingsFileError(str(env_file), exc.strerror or str(exc)) from None
    return {key.lower(): value for key, value in found.items()}


def load_status_settings(
    env_file: str | Path | None = ".env", environ: Mapping[str, str] | None = None
) -> StatusSettings:
    """The settings ``status`` uses, from ``environ`` (default ``os.environ``) over
    ``env_file``; ``SettingsError`` naming the first bad one, ``SettingsFileError`` for a
    file that is not UTF-8 or cannot be read."""
    given = {**_file_values(env_file)}
    given.update((k.lower(), v) for k, v in (os.environ if environ is None else environ).items())
    values: dict[str, Any] = {}
    for field, (default, check) in FIELDS.items():
        raw = given.get((ENV_PREFIX + field).lower())
        if raw is None:
            values[field] = default
            continue
        try:
            values[field] = check(raw)
        except ValueError as exc:
            raise SettingsError(ENV_PREFIX + field.upper(), str(exc)) from None
    return StatusSettings(**values)
