"""A fake Hugging Face Daily Papers API (see ``tests.support.upstreams``)."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from typing import Any

from tests.support.clock import FakeClock
from tests.support.http import Reply, StubServer
from tests.support.needs import fixtures_dir

UTC = dt.UTC


@functools.cache
def hf_templates() -> tuple[dict[str, Any], ...]:
    """Every item of every captured HF day (103 real items)."""
    items: list[dict[str, Any]] = []
    for path in sorted(fixtures_dir().glob("hf_daily_papers_*.json")):
        items += json.loads(path.read_bytes())
    return tuple(items)


def hf_id(day: dt.date, n: int) -> str:
    """A fresh arXiv-style id for the n-th HF item of ``day`` (never an arXiv fake's id)."""
    return f"{day:%y%m}.{50000 + day.day * 1000 + n:05d}"


class FakeHF(StubServer):
    """The HTTP stub answering ``/api/daily_papers`` as the Hub does."""

    DEFAULT_LIMIT = 50
    MAX_LIMIT = 100

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.route("/", self.answer)
        self.days: dict[dt.date, list[tuple[dt.datetime, dict[str, Any]]]] = {}
        self.cap: int | None = None  # serve at most this many per page, whatever limit says

    def add_day(self, day: dt.date, count: int, *, upvotes: int = 0) -> list[str]:
        """``count`` real items for UTC ``day``, submitted evenly across it; their ids."""
        templates = hf_templates()
        items = []
        for n in range(count):
            item = copy.deepcopy(templates[(day.toordinal() * 7 + n) % len(templates)])
            item["paper"]["id"] = hf_id(day, n)
            item["paper"]["upvotes"] = upvotes + count - n
            submitted = dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(
                seconds=(n + 1) * 86400 // (count + 1)
            )
            stamp = submitted.isoformat().replace("+00:00", ".000Z")
            item["paper"]["submittedOnDailyAt"] = stamp
            items.append((submitted, item))
        with self.lock:
            self.days[day] = items
        return [item["paper"]["id"] for _, item in items]

    def answer(self, path: str, query: dict[str, str], now: dt.datetime | None) -> Reply:
        assert now is not None
        if path != "/api/daily_papers":
            return json_reply(404, b'{"error":"not found"}')
        try:
            day = dt.date.fromisoformat(query["date"])
            limit = int(query.get("limit", self.DEFAULT_LIMIT))
            page = int(query.get("p", 0))
        except (KeyError, ValueError):
            return json_reply(400, b'{"error":"invalid query"}')
        if not 1 <= limit <= self.MAX_LIMIT or page < 0:
            return json_reply(400, b'{"error":"limit must be 1-100, p >= 0"}')
        visible = [item for submitted, item in self.days.get(day, []) if submitted <= now]
        return json_reply(200, json.dumps(visible[page * limit : (page + 1) * limit]).encode())


def json_reply(status: int, body: bytes) -> Reply:
    return Reply(status, body, {"Content-Type": "application/json"})
