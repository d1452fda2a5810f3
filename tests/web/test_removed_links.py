"""Links die with their subscriber (issue 12, item 6).

The attack: on SQLite, ``subscribers remove`` freed the id and the next subscriber got
it; link tokens signed only the id and never expired, so the removed person's old
preferences and unsubscribe links changed the newcomer's topics and unsubscribed them.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import insert, select

from newsletter.links import Links
from newsletter.models import Profile, Subscriber
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table
from tests.support.clock import FakeClock
from tests.support.forms import csrf_of


def _add(store: Store, clock: FakeClock, email: str, topic: str) -> Subscriber:
    with store.begin() as conn:
        return subscribers.add(conn, email, now=clock(), profile=Profile((topic,)))


def _get(store: Store, sid: int) -> Subscriber:
    with store.begin() as conn:
        return subscribers.get(conn, sid)


async def _replay(client: httpx.AsyncClient, preferences: str, unsubscribe: str) -> list[int]:
    """What someone holding the removed reader's email does with its links."""
    page = await client.get(preferences)
    answers = [page.status_code]
    if page.status_code == 200:
        saved = await client.post(
            preferences, data={"action": "save", "topics": "spam", "csrf": csrf_of(page)}
        )
        answers.append(saved.status_code)
    answers.append((await client.post(unsubscribe)).status_code)
    return answers


async def test_removed_readers_links_do_not_act_on_the_next_subscriber(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    _add(store, clock, "first@example.org", "first topic")
    old = _add(store, clock, "old@example.org", "old topic")
    preferences, unsubscribe = links.preferences(old), links.unsubscribe(old)
    with store.begin() as conn:
        subscribers.remove(conn, old.email)
    new = _add(store, clock, "new@example.org", "new topic")
    assert new.id != old.id  # never reused: AUTOINCREMENT on SQLite, a sequence on PostgreSQL
    answers = await _replay(client, preferences, unsubscribe)
    assert all(code in (400, 404) for code in answers), answers
    after = _get(store, new.id)
    assert (after.status, after.topics) == ("active", ("new topic",))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_links_fail_for_a_new_row_with_the_old_id(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    """Even where an id comes back (a row copied in by hand, a restored backup), the
    removed reader's links name a nonce that died with their row."""
    old = _add(store, clock, "old@example.org", "old topic")
    preferences, unsubscribe = links.preferences(old), links.unsubscribe(old)
    with store.begin() as conn:
        subscribers.remove(conn, old.email)
        new = subscribers.add(conn, "new@example.org", now=clock(), profile=Profile(("new",)))
        row = dict(conn.execute(select(subscribers_table)).mappings().one())
        conn.execute(subscribers_table.delete())
        conn.execute(insert(subscribers_table).values({**row, "id": old.id}))
    answers = await _replay(client, preferences, unsubscribe)
    assert all(code in (400, 404) for code in answers), answers
    after = _get(store, old.id)
    assert (after.email, after.status, after.topics) == (new.email, "active", ("new",))
