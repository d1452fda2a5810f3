"""The database handle: one SQLAlchemy engine for SQLite or PostgreSQL, migrated on open.

Store functions elsewhere in this package take a ``Connection`` from ``Store.begin()``
(one transaction) so that callers decide what commits together.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from newsletter.errors import StoreError
from newsletter.store import schema

log = logging.getLogger(__name__)


def engine_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @classmethod
    def open(cls, url: str, *, now: dt.datetime, migrate: bool = True) -> Store:
        """Connect (creating the SQLite file's folder) and apply pending migrations."""
        url = engine_url(url)
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[1] if ":///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["poolclass"] = NullPool
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["connect_args"] = {"connect_timeout": 10}
        try:
            engine = create_engine(url, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot use database {url!r}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        if migrate:
            store.upgrade(now)
        return store

    def upgrade(self, now: dt.datetime) -> list[str]:
        with self.begin() as conn:
            applied = schema.upgrade(conn, now)
        if applied:
            log.debug("applied migrations: %s", ", ".join(applied))
        return applied

    def pending_migrations(self) -> list[str]:
        with self.begin() as conn:
            return schema.pending_migrations(conn)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"database error: {str(exc.orig).strip().splitlines()[0]}") from None

    def close(self) -> None:
        self.engine.dispose()
