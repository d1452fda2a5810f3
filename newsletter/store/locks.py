"""Named locks as rows in ``locks``: they hold across processes and machines.

A holder is ``host:pid:nonce`` (``holder_id()``). A lock is free when its row is
missing, expired (``expires_at``), or held by a process on this host that no
longer exists (a sender killed with ``kill -9`` does not block the next run for
the whole TTL). Taking over a stale lock is a guarded UPDATE, so of two racing
runs exactly one wins; the other gets ``LockedError``.

Sender leases (``lease:<holder>``) are timed by the database's clock (``db_now``:
PostgreSQL's ``statement_timestamp()``, SQLite's ``'now'``), never by the host's: a
worker whose clock runs ahead cannot see another's lease as expired. A lease is renewed
only while it is still valid (``renew_lease``); once expired it is gone for good, and
``lease_held`` lets a ledger write require it in the same statement.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, exists, literal, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from newsletter.errors import LockedError
from newsletter.store.db import Store, upsert_insert
from newsletter.store.schema import UTCDateTime, locks

LEASE_PREFIX = "lease:"


class db_now(FunctionElement[dt.datetime]):
    """The database's current time, as an SQL expression (UTC)."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(db_now, "postgresql")
def _db_now_postgresql(element: db_now, compiler: Any, **kw: Any) -> str:
    return "statement_timestamp()"


@compiles(db_now, "sqlite")
def _db_now_sqlite(element: db_now, compiler: Any, **kw: Any) -> str:
    # The stored format of a datetime: 'YYYY-MM-DD HH:MM:SS.ffffff' (text compares in order).
    return "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"


def database_now(conn: Connection) -> dt.datetime:
    """The database's clock (aware UTC)."""
    value: dt.datetime = conn.execute(select(db_now())).scalar_one()
    return value


def lease_name(worker: str) -> str:
    """The lock name of ``worker``'s lease."""
    return LEASE_PREFIX + worker


def lease_held(worker: Any) -> ColumnElement[bool]:
    """SQL: ``worker`` (a value or a column such as ``ledger.claimed_by``) holds a lease
    that is still valid by the database's clock."""
    name = literal(LEASE_PREFIX) + worker
    return exists().where(
        locks.c.name == name, locks.c.holder == worker, locks.c.expires_at > db_now()
    )


def take_lease(conn: Connection, worker: str, ttl_seconds: float) -> None:
    """Take (or renew) the lease of ``worker`` until the database's now + ``ttl_seconds``."""
    acquire(conn, lease_name(worker), worker, database_now(conn), ttl_seconds)


def renew_lease(conn: Connection, worker: str, ttl_seconds: float) -> bool:
    """Extend a lease that is still valid; ``False`` when it has expired or was taken."""
    now = database_now(conn)
    renewed = conn.execute(
        update(locks)
        .where(
            locks.c.name == lease_name(worker),
            locks.c.holder == worker,
            locks.c.expires_at > now,
        )
        .values(expires_at=now + dt.timedelta(seconds=ttl_seconds))
    ).rowcount
    return bool(renewed == 1)


def has_lease(conn: Connection, worker: str) -> bool:
    """Whether ``worker`` holds a valid lease right now (by the database's clock)."""
    return bool(conn.execute(select(lease_held(worker))).scalar())


def holder_id(label: str = "") -> str:
    """``host:pid:nonce[:label]``: unique per process and call."""
    base = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return f"{base}:{label}" if label else base


def holder_is_dead(holder: str) -> bool:
    """True only when the holder is a process on this host that has exited."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def acquire(conn: Connection, name: str, holder: str, now: dt.datetime, ttl_seconds: float) -> None:
    """Take (or renew, for the same holder) the lock ``name``; raise ``LockedError`` if held."""
    expires = now + dt.timedelta(seconds=ttl_seconds)
    insert = upsert_insert(conn)
    inserted = conn.execute(
        insert(locks)
        .values(name=name, holder=holder, acquired_at=now, expires_at=expires)
        .on_conflict_do_nothing()
    ).rowcount
    if inserted == 1:
        return
    current = conn.execute(select(locks).where(locks.c.name == name)).mappings().first()
    if current is None:
        raise LockedError(name, "a run that just released it", "")
    free = (
        current["holder"] == holder
        or current["expires_at"] <= now
        or holder_is_dead(current["holder"])
    )
    if free:
        acquired = now if current["holder"] != holder else current["acquired_at"]
        taken = conn.execute(
            update(locks)
            .where(locks.c.name == name, locks.c.holder == current["holder"])
            .where(locks.c.expires_at == current["expires_at"])
            .values(holder=holder, acquired_at=acquired, expires_at=expires)
        ).rowcount
        if taken == 1:
            return
    raise LockedError(name, current["holder"], current["acquired_at"].isoformat(timespec="seconds"))


def release(conn: Connection, name: str, holder: str) -> None:
    """Release lock ``name`` if ``holder`` holds it."""
    conn.execute(delete(locks).where(locks.c.name == name, locks.c.holder == holder))


@contextmanager
def hold(store: Store, name: str, holder: str, now: dt.datetime, ttl: float) -> Iterator[None]:
    """Hold ``name`` for the block (each step its own transaction); always released."""
    with store.begin() as conn:
        acquire(conn, name, holder, now, ttl)
    try:
        yield
    finally:
        with store.begin() as conn:
            release(conn, name, holder)
