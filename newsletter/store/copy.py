"""Copy every row of one database into another (moving from SQLite to PostgreSQL).

Both sides are migrated to the same schema first; the target must be empty, so a copy
never mixes two lists. Rows go in dependency order, a table at a time, in one
transaction on the target: it has all of them or none. PostgreSQL sequences are moved
past the copied ids so that new rows do not collide.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, func, insert, select, text

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
        if target.engine.dialect.name == "postgresql":
            for table in tables:
                key = table.c.get("id")
                if key is not None and isinstance(key.type, Integer) and key.autoincrement:
                    top = writing.execute(select(func.max(key))).scalar() or 0
                    writing.execute(
                        text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :next, false)"),
                        {"table": table.name, "next": int(top) + 1},
                    )
    return copied
