"""Frozen migrations: a database that ran only the first release's m001 upgrades to the
same schema a fresh database gets, keeps its rows, and that schema is what the current
tables (``newsletter.store.schema.metadata``) describe. SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, inspect, text

from newsletter.store import schema, subscribers
from newsletter.store.db import Store
from newsletter.store.migrations import MIGRATIONS
from tests.support.databases import fresh_postgres_schema

NOW = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
THEN = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


def _type(column: dict[str, Any]) -> str:
    """A column's type, loosely: SQLite and PostgreSQL name the same type differently."""
    name = type(column["type"]).__name__.upper()
    for family in ("INT", "CHAR", "TEXT", "TIME", "DATE", "JSON", "BOOL", "FLOAT", "REAL"):
        if family in name:
            return {"REAL": "FLOAT", "TEXT": "CHAR"}.get(family, family)
    return name


def shape(conn: Connection) -> dict[str, Any]:
    """Tables, columns (type, nullability), primary keys, indexes and unique constraints."""
    with warnings.catch_warnings():
        # SQLite's reflection skips an index on an expression (m040): ``_extras`` lists them.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
        return _shape(conn)


def _shape(conn: Connection) -> dict[str, Any]:
    seen = inspect(conn)
    found: dict[str, Any] = {}
    for name in sorted(seen.get_table_names()):
        uniques = {tuple(u["column_names"]) for u in seen.get_unique_constraints(name)}
        indexes = set()
        for index in seen.get_indexes(name):
            columns = tuple(str(c) for c in index.get("expressions") or index["column_names"])
            if index.get("unique"):
                uniques.add(columns)  # SQLite reports some UNIQUE constraints as indexes
            else:
                indexes.add((index["name"], columns))
        found[name] = {
            "columns": {c["name"]: (_type(c), bool(c["nullable"])) for c in seen.get_columns(name)},
            "primary key": tuple(seen.get_pk_constraint(name)["constrained_columns"]),
            "indexes": indexes,
            "unique": uniques,
            "foreign keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"])
                for f in seen.get_foreign_keys(name)
            ),
        }
    found["(database)"] = _extras(conn)
    return found


def _extras(conn: Connection) -> dict[str, Any]:
    """What ``inspect`` does not show: SQLite's AUTOINCREMENT and triggers (m031, m032) and
    indexes on expressions (m040), PostgreSQL's column default for ``token_nonce`` (m032)."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT type, name, sql FROM sqlite_master")).all()
        return {
            "triggers": sorted(name for kind, name, _ in rows if kind == "trigger"),
            "expression indexes": sorted(
                name for kind, name, sql in rows if kind == "index" and sql and "(lower(" in sql
            ),
            "autoincrement": sorted(
                name for kind, name, sql in rows if kind == "table" and "AUTOINCREMENT" in sql
            ),
        }
    columns = {c["name"]: c for c in inspect(conn).get_columns("subscribers")}
    return {"token_nonce default": columns.get("token_nonce", {}).get("default")}


@contextmanager
def another_database(like: str, tmp_path: Path, name: str) -> Iterator[str]:
    """A second, empty database of the same kind as ``like``."""
    if like.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / name}.db"
    else:
        with fresh_postgres_schema() as url:
            yield url


def _m001_only(url: str) -> Store:
    store = Store.open(url, now=THEN, migrate=False)
    assert store.upgrade(THEN, until="m001_initial") == ["m001_initial"]
    return store


def test_m001_is_the_first_release(database_url: str) -> None:
    store = _m001_only(database_url)
    try:
        with store.begin() as conn:
            found = shape(conn)
        assert store.pending_migrations() == [name for name, _ in MIGRATIONS[1:]]
    finally:
        store.close()
    assert "alerts_sent" not in found
    assert "data_started_at" not in found["ledger"]["columns"]
    assert "missing" not in found["editions"]["columns"]
    assert {"token_nonce", "legacy_tokens"}.isdisjoint(found["subscribers"]["columns"])


def test_an_m001_database_upgrades_to_the_fresh_schema_and_keeps_its_rows(
    database_url: str, tmp_path: Path
) -> None:
    old = _m001_only(database_url)
    with old.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscribers (email, name, topics, categories, authors, exclude,"
                " status, frequency, bounce_score, created_at, updated_at) VALUES"
                " ('ada@example.org', 'Ada', '[\"bandits\"]', '[]', '[]', '[]', 'active',"
                " 'weekly', 0.5, :then, :then)"
            ),
            {"then": THEN},
        )
        conn.execute(
            text(
                "INSERT INTO editions (date, papers, sources, created_at)"
                " VALUES ('2025-03-01', '[]', '[\"hf_daily\"]', :then)"
            ),
            {"then": THEN},
        )
        conn.execute(
            text(
                "INSERT INTO ledger (edition_id, subscriber_id, state, attempts, created_at,"
                " updated_at) VALUES (1, 1, 'sent', 1, :then, :then)"
            ),
            {"then": THEN},
        )
    old.close()

    upgraded = Store.open(database_url, now=NOW)
    try:
        assert upgraded.pending_migrations() == []
        with upgraded.begin() as conn:
            migrated = shape(conn)
            ada = subscribers.require_by_email(conn, "ada@example.org")
            sent = conn.execute(text("SELECT state, data_started_at FROM ledger")).one()
            missing = conn.execute(text("SELECT missing FROM editions")).scalar()
            newcomer = subscribers.add(conn, "grace@example.org", now=NOW)
    finally:
        upgraded.close()
    assert (ada.name, ada.topics, ada.frequency) == (
        "Ada",
        ("bandits",),
        "weekly",
    )
    assert ada.created_at == THEN and ada.legacy_tokens and len(ada.token_nonce) == 32
    assert tuple(sent) == ("sent", None) and missing is None
    assert newcomer.id == 2 and not newcomer.legacy_tokens

    with another_database(database_url, tmp_path, "fresh") as fresh_url:
        fresh = Store.open(fresh_url, now=NOW)
        try:
            with fresh.begin() as conn:
                assert shape(conn) == migrated
        finally:
            fresh.close()


def test_the_current_tables_are_the_migrated_schema(database_url: str, tmp_path: Path) -> None:
    """A column added to a table in ``schema.py`` without a migration fails here."""
    store = Store.open(database_url, now=NOW)
    try:
        with store.begin() as conn:
            migrated = shape(conn)
    finally:
        store.close()
    with another_database(database_url, tmp_path, "declared") as declared_url:
        declared = Store.open(declared_url, now=NOW, migrate=False)
        try:
            with declared.begin() as conn:
                schema.metadata.create_all(conn)
                declared_shape = shape(conn)
        finally:
            declared.close()
    # The nonce's database-side default (m032) is not declared on the Table: rows get
    # theirs from ``subscribers.add``.
    del declared_shape["(database)"], migrated["(database)"]
    assert declared_shape == migrated


def test_an_install_whose_m001_was_the_old_create_all_upgrades_cleanly(
    database_url: str, tmp_path: Path
) -> None:
    """Before m001 was frozen it ran ``create_all`` on the tables of its day; such an
    install with only m001 recorded (the worst case) still migrates to the fresh schema."""
    old = Store.open(database_url, now=THEN, migrate=False)
    with old.begin() as conn:
        tables = [t for t in schema.metadata.sorted_tables if t.name != "alerts_sent"]
        schema.metadata.create_all(conn, tables=tables)
        conn.execute(schema.migrations_table.insert().values(name="m001_initial", applied_at=THEN))
    old.close()
    upgraded = Store.open(database_url, now=NOW)
    try:
        assert upgraded.pending_migrations() == []
        with upgraded.begin() as conn:
            migrated = shape(conn)
    finally:
        upgraded.close()
    with another_database(database_url, tmp_path, "fresh") as fresh_url:
        fresh = Store.open(fresh_url, now=NOW)
        try:
            with fresh.begin() as conn:
                assert shape(conn) == migrated
        finally:
            fresh.close()
