"""``subscribers.record_bounce``: the one bounce score, shared by the inbox and the send loop."""

from __future__ import annotations

import datetime as dt

from newsletter.store import subscribers
from newsletter.store.db import Store

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
RULES = {"hard_score": 5.0, "soft_score": 1.0, "threshold": 3.0, "reset_days": 30}


def bounce(store: Store, sid: int, kind: str, now: dt.datetime) -> bool:
    with store.begin() as conn:
        return subscribers.record_bounce(conn, sid, kind, now=now, **RULES)  # type: ignore[arg-type]


def status(store: Store, sid: int) -> str:
    with store.begin() as conn:
        return subscribers.get(conn, sid).status


def test_soft_bounces_add_up_and_suppress_once(store: Store) -> None:
    with store.begin() as conn:
        sid = subscribers.add(conn, "full@example.com", now=NOW).id
    results = [bounce(store, sid, "soft", NOW + dt.timedelta(days=d)) for d in range(4)]
    assert results == [False, False, True, False]  # suppressed by the third, reported once
    assert status(store, sid) == "bounced"


def test_soft_score_resets_after_quiet_days(store: Store) -> None:
    with store.begin() as conn:
        sid = subscribers.add(conn, "full@example.com", now=NOW).id
    for step in range(5):
        assert not bounce(store, sid, "soft", NOW + dt.timedelta(days=31 * step))
    assert status(store, sid) == "active"


def test_hard_bounce_suppresses_at_once_but_not_an_unsubscribed_one(store: Store) -> None:
    with store.begin() as conn:
        sid = subscribers.add(conn, "gone@example.com", now=NOW).id
        left = subscribers.add(conn, "left@example.com", now=NOW).id
        subscribers.set_status(conn, left, "unsubscribed", now=NOW)
    assert bounce(store, sid, "hard", NOW)
    assert status(store, sid) == "bounced"
    assert not bounce(store, left, "hard", NOW)
    assert status(store, left) == "unsubscribed"
