"""The access log against forged lines: a path with an encoded line break (``%0A``), an
escape sequence or a bidi override must stay on its one line, so nobody can write a fake
entry into the operator's log (CWE-117); link tokens stay cut out."""

from __future__ import annotations

import logging

import httpx
import pytest

from newsletter.links import Links
from newsletter.store import subscribers
from newsletter.store.db import Store
from tests.support.clock import FakeClock
from tests.web.helpers import BASE


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_path_cannot_forge_a_log_line(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    store: Store,
    links: Links,
    clock: FakeClock,
) -> None:
    with store.begin() as conn:
        reader = subscribers.add(conn, "a@example.org", now=clock(), status="active")
    token_path = links.unsubscribe(reader).removeprefix(BASE)
    forged = "/x%0D%0A10.0.0.1%20%22POST%20/admin%22%20200%1B[2J%E2%80%AE"
    with caplog.at_level(logging.INFO, logger="newsletter.web.access"):
        await client.get(forged)
        await client.get(token_path + "%0Aextra")
    lines = [r.getMessage() for r in caplog.records if r.name == "newsletter.web.access"]
    assert len(lines) == 2
    for line in lines:
        assert not any(c in line for c in "\r\n\x1b\u202e"), repr(line)
    assert "/admin" in lines[0]  # kept, on the request's own line
    assert token_path.rsplit("/", 1)[1] not in lines[1]
