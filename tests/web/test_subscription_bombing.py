"""Subscription bombing (sign-ups of someone else's mailbox, each sending them a
confirmation email) dodging the limits: plus-address tags (``victim+1@``, ``victim+2@``)
count as the one mailbox they reach (RFC 5233 subaddresses), and IPv6 clients count per
/64, the block one host or household gets (RFC 6177), not per address."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from starlette.applications import Starlette

from newsletter.models import Message
from tests.support.forms import csrf_of
from tests.web.helpers import BASE


async def _sign_up(app: Starlette, client_ip: str, email: str) -> int:
    transport = httpx.ASGITransport(app=app, client=(client_ip, 1234))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        form = await http.get("/subscribe")
        data = {"email": email, "topics": "graphs", "csrf": csrf_of(form)}
        return (await http.post("/subscribe", data=data)).status_code


async def test_plus_tags_share_the_mailbox_limit(
    make_app: Callable[..., Starlette], outbox: list[Message]
) -> None:
    app = make_app(subscribe_limit_per_address=3)
    for n in range(8):
        assert await _sign_up(app, f"198.51.100.{n}", f"Victim+{n}@example.org") == 200
    assert len(outbox) == 3, [m.to for m in outbox]


async def test_ipv6_clients_are_limited_per_64(
    make_app: Callable[..., Starlette], outbox: list[Message]
) -> None:
    app = make_app(subscribe_limit_per_ip=4)
    codes = [await _sign_up(app, f"2001:db8:1:2::{n:x}", f"r{n}@example.org") for n in range(6)]
    assert codes == [200] * 4 + [429] * 2
    # another /64 has its own count
    assert await _sign_up(app, "2001:db8:1:3::1", "other@example.org") == 200
    # IPv4 addresses are still counted one by one
    assert await _sign_up(app, "198.51.100.1", "v4a@example.org") == 200
    assert await _sign_up(app, "198.51.100.2", "v4b@example.org") == 200
