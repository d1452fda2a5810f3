"""The bundled demo day: ``newsletter/data/sample_day.json`` in the Daily Papers JSON shape.

No network. ``settings.sample_path`` points at another file of the same shape.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from importlib import resources
from pathlib import Path

from newsletter.errors import SourceError
from newsletter.models import Paper
from newsletter.sources.base import FetchContext, Fetched
from newsletter.sources.hf_daily import parse_items

NAME = "sample"
SAMPLE_DATE = dt.date(2026, 11, 26)


def parse(raw: bytes | str) -> list[Paper]:
    """The papers of the bundled sample day (JSON, the ``Paper.to_json`` form)."""
    return parse_items(raw, source=NAME)


def read(path: Path | None = None) -> bytes:
    """The sample file's bytes: ``path`` if given, else the copy bundled with the package."""
    try:
        if path is not None:
            return path.read_bytes()
        return resources.files("newsletter").joinpath("data", "sample_day.json").read_bytes()
    except OSError as exc:
        where = str(path) if path is not None else "bundled sample_day.json"
        raise SourceError(NAME, f"cannot read {where}: {exc.strerror or exc}") from None


async def fetch(context: FetchContext, spec_argument: str, edition: dt.date) -> Fetched:
    """Always the same day (``SAMPLE_DATE``), whatever edition is asked for."""
    raw = await asyncio.to_thread(read, context.settings.sample_path)
    return Fetched(await asyncio.to_thread(parse, raw))
