"""Whether an existing SQLite file is a newsletter database at all, read with ``sqlite3``
alone (no SQLAlchemy: ``status`` and every command check it before opening the store).

A file emptied by mistake (``: > subscribers/newsletter.db``) or another program's SQLite
file must never be migrated into a fresh, empty list in silence.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def unmade_database(path: Path) -> str | None:
    """Why the existing SQLite file at ``path`` is no newsletter database: zero length
    (``: > newsletter.db``), or SQLite without the ``migrations`` table that the first
    migration makes; None when it is one, when there is no file (a new one is made on
    first use), or when SQLite cannot read it: a damaged file is the store's to report
    ("database error: file is not a database", "… malformed"), with its own advice
    (restore a backup), never "create a schema in it". Read with ``sqlite3``
    (query-only), changing nothing."""
    if not path.exists():
        return None
    if path.stat().st_size == 0:
        return "is empty (0 bytes)"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
        try:
            conn.execute("PRAGMA query_only = ON")
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return None if found else "holds no newsletter schema (no migrations table)"
