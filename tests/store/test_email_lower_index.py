"""m040: an index on ``lower(email)`` serves the case-insensitive lookup of an address
(issue 14, item 7). Before it, each lookup read the whole table, and an import of N rows
took time in N squared. An install at m032 upgrades, keeps its rows, and the query plan
of ``subscribers.get_by_email`` names the index, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, func, select, text

from newsletter.store import schema, subscribers
from newsletter.store.db import Store
from newsletter.store.migrations import m040_subscribers_email_lower_index

THEN = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)


def _plan(conn: Connection) -> str:
    lookup = select(schema.subscribers).where(
        func.lower(schema.subscribers.c.email) == "reader7@example.org"
    )
    sql = str(lookup.compile(conn, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
        return " ".join(str(row[-1]) for row in rows)
    conn.execute(text("SET LOCAL enable_seqscan = off"))  # a small table: ask for the index
    return " ".join(str(row[0]) for row in conn.execute(text(f"EXPLAIN {sql}")).all())


def _indexes(conn: Connection) -> set[str]:
    """Index names on ``subscribers`` from the catalog (SQLite's reflection skips these)."""
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'subscribers'"
    else:
        query = (
            "SELECT indexname FROM pg_indexes"
            " WHERE tablename = 'subscribers' AND schemaname = current_schema()"
        )
    return {str(name) for name in conn.execute(text(query)).scalars()}


def test_an_m032_install_gets_the_index_and_the_lookup_uses_it(database_url: str) -> None:
    old = Store.open(database_url, now=THEN, migrate=False)
    old.upgrade(THEN, until="m032_subscriber_token_nonce_default")
    with old.begin() as conn:
        for i in range(20):
            subscribers.add(conn, f"Reader{i}@Example.org", now=THEN)
        assert "ix_subscribers_email_lower" not in _indexes(conn)
        assert "ix_subscribers_email_lower" not in _plan(conn)
    old.close()

    upgraded = Store.open(database_url, now=NOW)
    try:
        assert upgraded.pending_migrations() == []
        with upgraded.begin() as conn:
            assert "ix_subscribers_email_lower" in _indexes(conn)
            assert "ix_subscribers_email_lower" in _plan(conn)
            found = subscribers.get_by_email(conn, "READER7@example.ORG")
            assert found is not None and found.email == "Reader7@example.org"
            assert len(subscribers.listed_addresses(conn)) == 20
        # Idempotent, like every migration after m001.
        with upgraded.begin() as conn:
            m040_subscribers_email_lower_index(conn)
    finally:
        upgraded.close()
