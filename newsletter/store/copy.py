"""Copy every row of one database into another (moving from SQLite to PostgreSQL).

Both sides are migrated to the same schema first; the target must be empty, so a copy
never mixes two lists. Rows go in dependency order, a table at a time, in one
transaction on the target: it has all of them or none. Id sequences (PostgreSQL's, and
SQLite's ``sqlite_sequence``) are moved past the highest id the source ever gave out, rows
deleted before the copy included: an id is never given out twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Integer, func, insert, select, text

from newsletter.errors import StoreError
from newsletter.store import schema
from newsletter.store.db import Store

BATCH = 1000


def copy_database(source: Store, target: Store, now: dt.datetime) -> dict[str, int]:
    """Copy all rows from ``source`` to the empty ``target``; return rows copied per table."""
    source.upgrade(now)
    target.upgrade(now)
    tables = [t for t in schema.metadata.sorted_tables if t is not schema.migrations_table]
    with target.begin() as conn:
        for table in tables:
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                raise StoreError(f"the target database is not empty (table {table.name} has rows)")
    copied: dict[str, int] = {}
    with source.begin() as reading, target.begin() as writing:
        for table in tables:
            count = 0
            result = reading.execute(select(table)).mappings()
            while batch := result.fetchmany(BATCH):
                writing.execute(insert(table), [dict(row) for row in batch])
                count += len(batch)
            copied[table.name] = count
        for table in tables:
            key = table.c.get("id")
            if key is None or not isinstance(key.type, Integer) or not key.autoincrement:
                continue
            top = writing.execute(select(func.max(key))).scalar() or 0
            top = max(int(top), _ids_given_out(reading, table.name))
            if target.engine.dialect.name == "postgresql":
                writing.execute(
                    text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :next, false)"),
                    {"table": table.name, "next": top + 1},
                )
            else:  # AUTOINCREMENT tables keep their high-water mark in sqlite_sequence
                writing.execute(
                    text(
                        "UPDATE sqlite_sequence SET seq = :top WHERE name = :table AND seq < :top"
                    ),
                    {"table": table.name, "top": top},
                )
    return copied


def _ids_given_out(conn: Connection, table: str) -> int:
    """The highest id ``table`` ever gave out, rows deleted since included (0 if unknown):
    SQLite's ``sqlite_sequence`` (AUTOINCREMENT tables), PostgreSQL's sequence."""
    if conn.dialect.name == "postgresql":
        query = "SELECT pg_sequence_last_value(pg_get_serial_sequence(:table, 'id')::regclass)"
    else:
        has = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
        ).first()
        if has is None:
            return 0
        query = "SELECT seq FROM sqlite_sequence WHERE name = :table"
    value = conn.execute(text(query), {"table": table}).scalar()
    return int(value or 0)
