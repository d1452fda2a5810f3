"""Forged, damaged and misused tokens: every one is rejected and nothing changes."""

from __future__ import annotations

import datetime as dt
import random
import string

import httpx
import pytest

from newsletter.errors import TokenError
from newsletter.links import Links, holder
from newsletter.models import Subscriber
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.tokens import Holder, Signer
from tests.support.clock import FakeClock
from tests.web.helpers import snapshot

ALPHABET = string.ascii_letters + string.digits + "-_."
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def _people(store: Store, clock: FakeClock) -> tuple[Subscriber, Subscriber]:
    with store.begin() as conn:
        pending = subscribers.add(conn, "p@example.org", now=clock(), status="pending")
        active = subscribers.add(conn, "a@example.org", now=clock(), status="active")
    return pending, active


def _flip(token: str, rng: random.Random) -> str:
    """Change one character (not just its case: tokens are case-insensitive), cut the
    token short, or add to it."""
    kind = rng.randrange(3)
    if kind == 0:
        i = rng.randrange(len(token))
        replacement = rng.choice([c for c in ALPHABET if c.lower() != token[i].lower()])
        return token[:i] + replacement + token[i + 1 :]
    if kind == 1:
        return token[: rng.randrange(len(token))]
    return token + rng.choice(ALPHABET)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_thousand_random_and_flipped_tokens_all_rejected(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, signer: Signer
) -> None:
    pending, active = _people(store, clock)
    before = snapshot(store)
    rng = random.Random(5)
    good = {
        "confirm": signer.sign("confirm", holder(pending)),
        "unsubscribe": signer.sign("unsubscribe", holder(active)),
        "preferences": signer.sign("preferences", holder(active)),
    }
    tried: set[tuple[str, str]] = set()
    while len(tried) < 1000:
        path = rng.choice(list(good))
        if len(tried) % 2:
            token = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 60)))
        else:
            token = _flip(good[path], rng)
        if token.lower() == good[path] or not token.strip(".") or (path, token) in tried:
            continue
        tried.add((path, token))
        answer = await client.post(f"/{path}/{token}", data={"action": "resume"})
        assert answer.status_code in (400, 404), (path, token, answer.status_code)
    assert snapshot(store) == before


async def test_purpose_swapped_tokens_rejected(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, signer: Signer, links: Links
) -> None:
    pending, active = _people(store, clock)
    before = snapshot(store)
    unsub_token = links.unsubscribe(pending).rsplit("/", 1)[1]
    prefs_token = links.preferences(active).rsplit("/", 1)[1]
    confirm_token = links.confirm(pending, now=dt.datetime.now(dt.UTC)).rsplit("/", 1)[1]
    for path, token in [
        ("confirm", unsub_token),
        ("confirm", prefs_token),
        ("unsubscribe", confirm_token),
        ("unsubscribe", prefs_token),
        ("preferences", unsub_token),
        ("feedback", unsub_token),
    ]:
        answer = await client.post(f"/{path}/{token}")
        assert answer.status_code == 400, path
        assert "This link does not work" in answer.text
    assert snapshot(store) == before


async def test_other_key_rejected_previous_key_accepted(
    client: httpx.AsyncClient, store: Store, clock: FakeClock
) -> None:
    pending, _ = _people(store, clock)
    stranger = Signer.from_secrets("somebody-else's-key")
    answer = await client.post(f"/confirm/{stranger.sign('confirm', holder(pending))}")
    assert answer.status_code == 400
    assert snapshot(store)[0].status == "pending"


async def test_get_never_changes_state(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    pending, active = _people(store, clock)
    before = snapshot(store)
    for url in (
        links.confirm(pending, now=dt.datetime.now(dt.UTC)),
        links.unsubscribe(active),
        links.preferences(active),
        links.feedback(active, "2403.15527", +1),
        links.unsubscribe(pending),
    ):
        for method in ("GET", "HEAD"):
            answer = await client.request(method, url)
            assert answer.status_code in (200, 404), (method, url)
    assert snapshot(store) == before


def test_token_with_spare_bits_changed_is_rejected(signer: Signer) -> None:
    reader = Subscriber(id=42, email="r@example.org", token_nonce="n" * 32)
    token = signer.sign("unsubscribe", holder(reader))
    assert (len(token) * 5) % 8, "the last base32 character must carry spare bits"
    # The spare (low) bits of the last character change; the decoded bytes do not.
    twin = token[:-1] + BASE32[BASE32.index(token[-1]) ^ 1]
    assert twin != token

    def find(sid: int) -> Holder | None:
        return holder(reader) if sid == 42 else None

    with pytest.raises(TokenError):
        signer.verify("unsubscribe", twin, find)
    with pytest.raises(TokenError):
        signer.verify("unsubscribe", f"{token[:10]}!{token[10:]}", find)
    assert signer.verify("unsubscribe", token, find).holder_id == 42
    assert signer.verify("unsubscribe", token.upper(), find).holder_id == 42
