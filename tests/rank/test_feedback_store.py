from __future__ import annotations

import datetime as dt

import pytest

from newsletter.errors import InputError, NotFoundError
from newsletter.models import Paper
from newsletter.store import editions, feedback, subscribers
from newsletter.store.db import Store

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
PAPERS = [
    Paper("2401.00001", "Test-time adaptation for ViTs", "We adapt at test time.", ("A. B",)),
    Paper("2401.00002", "Robot manipulation", "Robots grasp things.", categories=("cs.RO",)),
]


def _setup(store: Store) -> tuple[int, int]:
    with store.begin() as conn:
        editions.freeze(conn, NOW.date(), PAPERS, sources=["sample"], now=NOW)
        ada = subscribers.add(conn, "ada@example.org", now=NOW)
        bob = subscribers.add(conn, "bob@example.org", now=NOW)
    return ada.id, bob.id


def test_record_and_read_back_with_papers(store: Store) -> None:
    ada, bob = _setup(store)
    with store.begin() as conn:
        feedback.record(conn, ada, "2401.00001", 1, NOW)
        feedback.record(conn, ada, "2401.00002", -1, NOW + dt.timedelta(minutes=1))
        feedback.record(conn, bob, "2401.00002", 1, NOW)
    with store.begin() as conn:
        found = feedback.for_subscribers(conn, [ada, bob, 999])
    assert set(found) == {ada, bob}
    assert [(f.paper, f.signal) for f in found[ada]] == [(PAPERS[0], 1), (PAPERS[1], -1)]
    assert found[ada][1].created_at == NOW + dt.timedelta(minutes=1)
    assert [(f.subscriber_id, f.paper.arxiv_id, f.signal) for f in found[bob]] == [
        (bob, "2401.00002", 1)
    ]


def test_a_later_click_replaces_the_earlier_signal(store: Store) -> None:
    ada, _ = _setup(store)
    later = NOW + dt.timedelta(hours=2)
    with store.begin() as conn:
        feedback.record(conn, ada, "2401.00001", 1, NOW)
    with store.begin() as conn:
        feedback.record(conn, ada, "2401.00001", -1, later)
    with store.begin() as conn:
        found = feedback.for_subscribers(conn, [ada])[ada]
    assert [(f.paper.arxiv_id, f.signal, f.created_at) for f in found] == [
        ("2401.00001", -1, later)
    ]


def test_bad_signal_and_unknown_paper_are_clear_errors(store: Store) -> None:
    ada, _ = _setup(store)
    with pytest.raises(InputError, match="must be \\+1 or -1"), store.begin() as conn:
        feedback.record(conn, ada, "2401.00001", 2, NOW)
    with pytest.raises(NotFoundError, match=r"paper 9999\.99999"), store.begin() as conn:
        feedback.record(conn, ada, "9999.99999", 1, NOW)
    with store.begin() as conn:
        assert feedback.for_subscribers(conn, [ada]) == {}
