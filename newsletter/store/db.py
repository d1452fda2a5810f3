"""The database handle: one SQLAlchemy engine for SQLite or PostgreSQL, migrated on open.

Store functions elsewhere in this package take a ``Connection`` from ``Store.begin()``
(one transaction) so that callers decide what commits together.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from newsletter.errors import ConstraintError, StoreError
from newsletter.store import migrations
from newsletter.words import plural

if TYPE_CHECKING:
    from newsletter.store.send_source import SqlSendSource

log = logging.getLogger(__name__)


def engine_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def upsert_insert(conn: Connection) -> Any:
    """The ``insert`` construct of the connection's dialect (PostgreSQL or SQLite), which has
    ``on_conflict_do_nothing``/``on_conflict_do_update``. Imported here, on use: the
    PostgreSQL dialect costs about 50 ms to import, which read-only commands on SQLite
    (``newsletter status``) need not pay."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def describe(exc: SQLAlchemyError) -> str:
    """One line for the operator: the driver's first line, without SQL or a traceback."""
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return f"database error: {lines[0] if lines else type(exc).__name__}"


def _private_file(path: Path) -> None:
    """Create the SQLite file (and its folder) readable by its owner alone (0600: it holds
    every address); SQLite gives its journal and WAL files the same mode. A file that
    exists keeps its mode (the operator may have chosen one)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot make the database's folder {path.parent}: {exc.strerror or exc}"
        ) from None
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"cannot create the database file {path}: {exc.strerror}") from None


@contextmanager
def store_errors() -> Iterator[None]:
    """SQLAlchemy's errors inside as the project's: ``ConstraintError`` for a constraint
    (callers may act on a concurrent change), ``StoreError`` for the rest (unreachable,
    locked, damaged: "file is not a database")."""
    try:
        yield
    except IntegrityError as exc:
        raise ConstraintError(describe(exc)) from None
    except SQLAlchemyError as exc:
        raise StoreError(describe(exc)) from None


class Store:
    """The database: one SQLAlchemy ``Engine`` (SQLite file or PostgreSQL server).

    Open it with ``Store.open(url, now=...)``; take a transaction with ``begin()`` and pass
    its ``Connection`` to the store modules. SQLite runs in WAL mode with a 30 s busy timeout
    and foreign keys on. Errors surface as ``StoreError`` (``ConstraintError`` for a broken
    constraint), one line each, never a driver traceback."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def is_sqlite(self) -> bool:
        """True for SQLite (migrations then run with foreign keys off, BEGIN IMMEDIATE)."""
        return self.engine.dialect.name == "sqlite"

    @classmethod
    def open(cls, url: str, *, now: dt.datetime, migrate: bool = True) -> Store:
        """Connect (creating the SQLite file's folder) and apply pending migrations."""
        url = engine_url(url)
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[1] if ":///" in url else ""
            if path and path != ":memory:":
                _private_file(Path(path))
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

    def upgrade(self, now: dt.datetime, *, until: str | None = None) -> list[str]:
        """Apply pending migrations in one transaction (up to and including the one named
        ``until``, when given); return their names. Nothing is written when none is pending.

        Raises ``StoreError`` when the database cannot be reached or a migration fails."""
        if not self.pending_migrations():
            return []
        with self._migrating() as conn:
            applied = migrations.upgrade(conn, now, until=until)
        if applied:
            log.debug("applied migrations: %s", ", ".join(applied))
        return applied

    @contextmanager
    def _migrating(self) -> Iterator[Connection]:
        """The migrations' transaction. On SQLite, foreign keys are off for it (a table
        rebuild drops the old table; https://sqlite.org/lang_altertable.html#otheralter),
        which SQLite allows only outside a transaction; ``foreign_key_check`` runs before
        the commit, and BEGIN IMMEDIATE makes a second process wait, then find nothing to do."""
        if not self.is_sqlite:
            with self.begin() as conn:
                yield conn
            return
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise StoreError(
                            f"migration left {plural(len(broken), 'broken reference')}"
                        )
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
        except SQLAlchemyError as exc:
            raise StoreError(describe(exc)) from None

    def pending_migrations(self) -> list[str]:
        """Names of the migrations not applied yet, in order (``store.migrations``)."""
        with self.begin() as conn:
            return migrations.pending_migrations(conn)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on error."""
        with store_errors(), self.engine.begin() as conn:
            yield conn

    def send_source(self) -> SqlSendSource:
        """The ledger as the send loop sees it (``newsletter.outbox.ledger_port``)."""
        # Imported here: the ledger's modules import this one (a cycle inside ``store``).
        from newsletter.store.send_source import SqlSendSource

        return SqlSendSource(self)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
