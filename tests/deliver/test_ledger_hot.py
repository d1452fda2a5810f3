"""The send loop's hot ledger statements (``store.ledger_hot``, SQL text on the driver's
cursor) leave the same rows and return the same answers as the SQLAlchemy reference
(``store.ledger``), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, text, update

from newsletter.errors import StoreError
from newsletter.models import SendResult
from newsletter.store import ledger, locks
from newsletter.store.db import Store
from newsletter.store.ledger_hot import HotLedger
from newsletter.store.schema import ledger as ledger_table
from newsletter.store.schema import locks as locks_table
from tests.support.databases import fresh_postgres_schema
from tests.support.delivery import seed, send_all, smtp_settings

T0 = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(seconds=1, microseconds=250)
T2 = T0 + dt.timedelta(seconds=2, microseconds=999_999)


@pytest.fixture(params=["sqlite", "postgresql"])
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two empty databases of one kind: one for each path."""
    if request.param == "sqlite":
        stores = [Store.open(f"sqlite:///{tmp_path / f'{n}.db'}", now=T0) for n in "ab"]
        yield stores[0], stores[1]
        for store in stores:
            store.close()
        return
    with fresh_postgres_schema() as first, fresh_postgres_schema() as second:
        stores = [Store.open(url, now=T0) for url in (first, second)]
        yield stores[0], stores[1]
        for store in stores:
            store.close()


class Reference:
    """The SQLAlchemy functions with the hot ledger's signatures."""

    def mark_data_started_many(self, conn: Connection, *args: Any, **kw: Any) -> set[int]:
        return ledger.mark_data_started_many(conn, *args, **kw)

    def record_sent_many(self, conn: Connection, *args: Any, **kw: Any) -> set[int]:
        return ledger.record_sent_many(conn, *args, **kw)


def _expire(conn: Connection, worker: str) -> None:
    conn.execute(
        update(locks_table)
        .where(locks_table.c.name == locks.lease_name(worker))
        .values(expires_at=locks.database_now(conn) - dt.timedelta(seconds=1))
    )


def _script(store: Store, hot: Callable[[Connection], Any] | None) -> list[Any]:
    """Claims, marks and results of two senders, one of which loses its lease; every
    answer the ledger gave, in order."""
    edition = seed(store, 12)
    answers: list[Any] = []
    ok = SendResult("sent", 250, "2.0.0 Ok: queued as X" + "y" * 2100)
    with store.begin() as conn:
        conn.execute(update(ledger_table).values(created_at=T0, updated_at=T0))  # seed's clock
        locks.take_lease(conn, "a", 60)
        locks.take_lease(conn, "b", 60)
        way = hot(conn) if hot else Reference()
        fast = hot(conn) if hot else None
        a = ledger.claim(conn, edition.id, "a", 5, T0, hot=fast)
        b = ledger.claim(conn, edition.id, "b", 3, T0, hot=fast)
        answers += [a, b]
        a_ids, b_ids = [r.id for r in a], [r.id for r in b]
        answers.append(way.mark_data_started_many(conn, [*a_ids[:3], b_ids[0]], T1, worker="a"))
        answers.append(way.mark_data_started_many(conn, [], T1, worker="a"))
        sent = [(i, ok, f"<m{i}@x>") for i in (*a_ids[:2], b_ids[0])]
        answers.append(way.record_sent_many(conn, sent, T2, worker="a"))
        answers.append(way.record_sent_many(conn, sent[:1], T2, worker="a"))  # again: the same
        answers.append(way.record_sent_many(conn, [(a_ids[2], ok, "<m@x>")], T2, worker="a"))
        _expire(conn, "a")
        answers.append(way.mark_data_started_many(conn, a_ids[3:], T2, worker="a"))
        answers.append(ledger.claim(conn, edition.id, "a", 5, T2, hot=fast))  # no lease
        answers.append(ledger.claim(conn, edition.id, "b", 50, T2, hot=fast))  # the rest
        answers.append(ledger.claim(conn, edition.id, "b", 0, T2, hot=fast))
    return answers


def _table(store: Store) -> list[tuple[Any, ...]]:
    """Every ledger row as the driver returns it (SQLite: the stored text of each time)."""
    with store.begin() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM ledger ORDER BY id"))]


def test_hot_statements_leave_the_same_rows_and_answers(two_stores: tuple[Store, Store]) -> None:
    reference, hot = two_stores
    expected = _script(reference, None)
    got = _script(hot, HotLedger.of)
    assert got == expected
    assert _table(hot) == _table(reference)
    # the script covered what matters: owned, not owned, already sent, lease lost
    assert expected[2] == set(expected[0][i].id for i in range(3))
    assert expected[4] == {expected[1][0].id}  # b's row: not a's to record
    assert expected[7] == set() and expected[8] == [] and len(expected[9]) == 4


def test_a_driver_error_is_one_line(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}", now=T0)
    try:
        with store.begin() as conn:
            conn.exec_driver_sql("DROP TABLE ledger")
            with pytest.raises(StoreError, match=r"^database error: no such table: ledger$"):
                HotLedger.of(conn).mark_data_started_many(conn, [1], T0, worker="a")
    finally:
        store.close()


def test_enqueue_counts_only_the_new_rows(two_stores: tuple[Store, Store]) -> None:
    store, _ = two_stores
    edition = seed(store, 12, enqueue=False)
    with store.begin() as conn:
        ids = [
            int(i) for i in conn.exec_driver_sql("SELECT id FROM subscribers ORDER BY id").scalars()
        ]
        assert ledger.enqueue(conn, edition.id, ids[:5], T0) == 5
        assert ledger.enqueue(conn, edition.id, [*ids, *ids[:3]], T0) == 7  # duplicates too
        assert ledger.enqueue(conn, edition.id, ids, T0) == 0
        assert ledger.counts(conn, edition.id)["pending"] == 12


def test_a_sender_gives_up_on_old_rows_once_a_minute(sqlite_store: Store) -> None:
    """``give_up`` visits every waiting row: a sender runs it at most once a minute (of
    the ``now`` it is given), not for every batch; a row queued too long still ends
    ``failed`` within that minute."""
    store = sqlite_store
    edition = seed(store, 3)
    source = store.send_source()
    source.take_lease("w", 600)
    session = source.session()

    def claim(now: dt.datetime) -> list[int]:
        rows = session.claim(
            edition.id, "w", 1, now, give_up_hours=1.0, include_unknown=False,
            only=None, retries=True, lease_seconds=600,
        )  # fmt: skip
        return [r.id for r in rows]

    def states() -> list[str]:
        with store.begin() as conn:
            return [r.state for r in ledger.rows(conn, edition.id)]

    first = claim(T0)
    with store.begin() as conn:  # the last row was queued two hours before T0
        conn.execute(
            update(ledger_table)
            .where(ledger_table.c.id == 3)
            .values(created_at=T0 - dt.timedelta(hours=2))
        )
    assert claim(T0 + dt.timedelta(seconds=30)) == [2]  # within the minute: not yet
    assert states() == ["sending", "sending", "pending"]
    assert claim(T0 + dt.timedelta(seconds=61)) == []  # a minute on: given up first
    assert states() == ["sending", "sending", "failed"] and first == [1]
    session.close()


async def test_a_sender_claims_and_rechecks_on_its_one_held_connection(tmp_path: Path) -> None:
    """The claim and the send-time re-check of every batch run on the sender's held
    connection (``SqlSendSession``): on SQLite, where ``NullPool`` makes every connection
    anew (with four PRAGMAs), the connections a send opens do not grow with its batches."""

    async def connections_opened(count: int) -> int:
        store = Store.open(f"sqlite:///{tmp_path / f'{count}.db'}", now=T0)
        edition = seed(store, count)
        opened: list[object] = []
        event.listen(store.engine, "connect", lambda *_: opened.append(None))
        settings = smtp_settings(25, tmp_path / str(count), delivery="maildir", send_batch_size=5)
        report = await send_all(store, settings, edition)
        store.close()
        assert report.counts["sent"] == count
        return len(opened)

    assert await connections_opened(30) == await connections_opened(5)  # 6 batches and 1
