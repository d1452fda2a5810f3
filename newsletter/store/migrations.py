"""The append-only list of schema migrations, and the code that applies them.

A migration is a named function that runs once; applied names are recorded in the
``migrations`` table (the pattern of simonw/llm). Each one is frozen: it holds the DDL
of its own day and never reads today's tables in ``newsletter.store.schema``, so a fresh
database and one upgraded from any earlier release end up with the same schema.
``m001_initial`` writes out the tables as they were when it shipped (``git show
e33ee75:newsletter/store/schema.py``); every later migration alters from the state the
ones before it left. Never edit a migration that has shipped: append a new one.

Every migration after m001 is idempotent (it checks before it alters): installs made
before the migrations were frozen ran a ``create_all`` of the then-current tables as
their m001, and tests run some migrations twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    column,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.types import TypeEngine

from newsletter.store.schema import metadata, migrations_table

Migration = Callable[[Connection], None]

_TIME = DateTime(timezone=True)


def _m001_subscriber_columns() -> list[Column[object]]:
    """The columns of ``subscribers`` in the first release (new objects on every call)."""
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("email", String(320), nullable=False, unique=True),
        Column("name", String(200), nullable=False),
        Column("topics", JSON, nullable=False),
        Column("categories", JSON, nullable=False),
        Column("authors", JSON, nullable=False),
        Column("exclude", JSON, nullable=False),
        Column("status", String(20), nullable=False),
        Column("frequency", String(10), nullable=False),
        Column("paused_until", Date, nullable=True),
        Column("bounce_score", Float, nullable=False),
        Column("created_at", _TIME, nullable=False),
        Column("updated_at", _TIME, nullable=False),
        Column("confirmed_at", _TIME, nullable=True),
        Column("unsubscribed_at", _TIME, nullable=True),
    ]


def _m001_tables() -> MetaData:
    """The nine tables exactly as m001 created them in the first release."""
    shape = MetaData()
    Table("subscribers", shape, *_m001_subscriber_columns())
    Table(
        "papers",
        shape,
        Column("arxiv_id", String(40), primary_key=True),
        Column("data", JSON, nullable=False),
        Column("first_seen", _TIME, nullable=False),
    )
    Table(
        "editions",
        shape,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("date", Date, nullable=False, unique=True),
        Column("papers", JSON, nullable=False),
        Column("sources", JSON, nullable=False),
        Column("created_at", _TIME, nullable=False),
    )
    Table(
        "ledger",
        shape,
        Column(
            "id",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("edition_id", Integer, ForeignKey("editions.id"), nullable=False),
        Column("subscriber_id", Integer, ForeignKey("subscribers.id"), nullable=False),
        Column("state", String(10), nullable=False),
        Column("message_id", String(300), nullable=True),
        Column("attempts", Integer, nullable=False),
        Column("claimed_at", _TIME, nullable=True),
        Column("claimed_by", String(200), nullable=True),
        Column("next_attempt_at", _TIME, nullable=True),
        Column("sent_at", _TIME, nullable=True),
        Column("last_code", Integer, nullable=True),
        Column("last_text", Text, nullable=True),
        Column("created_at", _TIME, nullable=False),
        Column("updated_at", _TIME, nullable=False),
        UniqueConstraint("edition_id", "subscriber_id", name="uq_ledger_edition_subscriber"),
        Index("ix_ledger_edition_state", "edition_id", "state"),
    )
    Table(
        "feedback",
        shape,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("subscriber_id", Integer, ForeignKey("subscribers.id"), nullable=False),
        Column("arxiv_id", String(40), nullable=False),
        Column("signal", Integer, nullable=False),
        Column("created_at", _TIME, nullable=False),
        UniqueConstraint("subscriber_id", "arxiv_id", name="uq_feedback_subscriber_paper"),
    )
    Table(
        "locks",
        shape,
        Column("name", String(100), primary_key=True),
        Column("holder", String(200), nullable=False),
        Column("acquired_at", _TIME, nullable=False),
        Column("expires_at", _TIME, nullable=False),
    )
    Table(
        "runs",
        shape,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("command", String(50), nullable=False),
        Column("edition_date", Date, nullable=True),
        Column("started_at", _TIME, nullable=False),
        Column("finished_at", _TIME, nullable=True),
        Column("outcome", String(20), nullable=True),
        Column("summary", Text, nullable=True),
        Column("counts", JSON, nullable=True),
    )
    Table(
        "source_health",
        shape,
        Column("source", String(200), primary_key=True),
        Column("last_attempt_at", _TIME, nullable=True),
        Column("last_success_at", _TIME, nullable=True),
        Column("last_error", Text, nullable=True),
        Column("last_count", Integer, nullable=True),
        Column("ok", Boolean, nullable=False),
    )
    Table(
        "inbox_events",
        shape,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("message_key", String(400), nullable=False, unique=True),
        Column("kind", String(20), nullable=False),
        Column("subscriber_id", Integer, nullable=True),
        Column("detail", Text, nullable=True),
        Column("created_at", _TIME, nullable=False),
    )
    return shape


def _add_column(conn: Connection, table_name: str, name: str, kind: TypeEngine[Any]) -> None:
    """``ALTER TABLE … ADD COLUMN`` unless the column is there already (idempotent)."""
    if name not in {c["name"] for c in inspect(conn).get_columns(table_name)}:
        sql_type = kind.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {name} {sql_type}"))


def m001_initial(conn: Connection) -> None:
    """The first release's nine tables (subscribers, papers, editions, ledger, feedback,
    locks, runs, source_health, inbox_events), as they were then."""
    _m001_tables().create_all(conn)


def m002_ledger_data_started(conn: Connection) -> None:
    """Ledger column ``data_started_at``: set just before a message's body goes out."""
    _add_column(conn, "ledger", "data_started_at", _TIME)


def m010_edition_missing_sources(conn: Connection) -> None:
    """Editions column ``missing``: ``[{"source", "error"}]`` of the sources that failed."""
    _add_column(conn, "editions", "missing", JSON())


def m020_alerts_sent(conn: Connection) -> None:
    """Table ``alerts_sent`` (one alert email per edition and kind of problem)."""
    shape = MetaData()
    Table(
        "alerts_sent",
        shape,
        Column("edition_date", Date, primary_key=True),
        Column("kind", String(40), primary_key=True),
        Column("sent_at", _TIME, nullable=False),
    )
    shape.create_all(conn)


def m030_subscriber_token_nonce(conn: Connection) -> None:
    """Columns ``token_nonce`` and ``legacy_tokens``; every existing row gets a random nonce
    and keeps its old-format links (``newsletter.tokens``, version 0) working."""
    _add_column(conn, "subscribers", "token_nonce", String(32))
    _add_column(conn, "subscribers", "legacy_tokens", Boolean())
    rows = table(
        "subscribers",
        column("id", Integer),
        column("token_nonce", String),
        column("legacy_tokens", Boolean),
    )
    missing = select(rows.c.id).where(rows.c.token_nonce.is_(None))
    fill = (
        update(rows)
        .where(rows.c.id == bindparam("row_id"))
        .values(token_nonce=bindparam("nonce"), legacy_tokens=True)
    )
    while ids := conn.execute(missing.limit(10_000)).scalars().all():
        conn.execute(fill, [{"row_id": i, "nonce": secrets.token_hex(16)} for i in ids])


def _m031_subscribers(shape: MetaData, name: str) -> Table:
    """``subscribers`` after m030, with SQLite's AUTOINCREMENT (the table m031 rebuilds)."""
    return Table(
        name,
        shape,
        *_m001_subscriber_columns(),
        Column("token_nonce", String(32), nullable=True),
        Column("legacy_tokens", Boolean, nullable=True),
        sqlite_autoincrement=True,
    )


def m031_subscriber_ids_never_reused(conn: Connection) -> None:
    """Subscriber ids are never given out again, and no history waits for a new holder.

    SQLite reuses the highest rowid of an ``INTEGER PRIMARY KEY`` after a delete: the table
    is rebuilt with AUTOINCREMENT (https://sqlite.org/autoinc.html), its counter set past
    every id ever seen. ``inbox_events`` rows that belong to no one on the list, or to an
    earlier holder of a reused id (older than the row that has the id now), are deleted:
    ``subscribers remove`` left them behind before. PostgreSQL's sequence never goes
    back. Needs foreign keys off on SQLite (``Store.upgrade`` does that)."""
    people = table("subscribers", column("id"), column("created_at"))
    events = table("inbox_events", column("subscriber_id"), column("created_at"))
    seen = [
        people.c.id,
        table("ledger", column("subscriber_id")).c.subscriber_id,
        table("feedback", column("subscriber_id")).c.subscriber_id,
        events.c.subscriber_id,
    ]
    top = max(int(conn.execute(select(func.max(c))).scalar() or 0) for c in seen)
    holder_since = (
        select(people.c.created_at).where(people.c.id == events.c.subscriber_id).scalar_subquery()
    )
    conn.execute(
        delete(events).where(
            events.c.subscriber_id.is_not(None),
            or_(
                events.c.subscriber_id.not_in(select(people.c.id)),
                events.c.created_at < holder_since,
            ),
        )
    )
    if conn.dialect.name != "sqlite":
        return
    found = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'subscribers'"
    if "AUTOINCREMENT" not in str(conn.execute(text(found)).scalar()).upper():
        rebuilt = _m031_subscribers(MetaData(), "subscribers_m031")
        rebuilt.create(conn)
        names = [c.name for c in rebuilt.columns]
        old = table("subscribers", *(column(n) for n in names))
        conn.execute(insert(rebuilt).from_select(names, select(*old.columns)))
        conn.execute(text("DROP TABLE subscribers"))
        conn.execute(text("ALTER TABLE subscribers_m031 RENAME TO subscribers"))
    counter = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'subscribers'"))
    current = counter.scalar()
    if current is None:
        conn.execute(
            text("INSERT INTO sqlite_sequence (name, seq) VALUES ('subscribers', :top)"),
            {"top": top},
        )
    elif int(current) < top:
        conn.execute(
            text("UPDATE sqlite_sequence SET seq = :top WHERE name = 'subscribers'"), {"top": top}
        )


def m032_subscriber_token_nonce_default(conn: Connection) -> None:
    """A row inserted without ``token_nonce`` (by hand, by another tool) gets a random one
    from the database: a PostgreSQL column default, a SQLite trigger (SQLite cannot add a
    column default that is not constant; a later rebuild of the table must make the trigger
    again). ``subscribers.add`` sets its own."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "ALTER TABLE subscribers ALTER COLUMN token_nonce"
                " SET DEFAULT replace(gen_random_uuid()::text, '-', '')"
            )
        )
        return
    conn.execute(
        text(
            "CREATE TRIGGER IF NOT EXISTS subscribers_token_nonce AFTER INSERT ON subscribers"
            " WHEN NEW.token_nonce IS NULL BEGIN"
            " UPDATE subscribers SET token_nonce = lower(hex(randomblob(16)))"
            " WHERE id = NEW.id; END"
        )
    )


def m040_subscribers_email_lower_index(conn: Connection) -> None:
    """Index ``ix_subscribers_email_lower`` on ``lower(email)``: every lookup of an address
    is case-insensitive (``subscribers.get_by_email``), and without it each one read the
    whole table (an import of N rows took time in N squared). SQLite (3.9+) and PostgreSQL
    both index expressions; the query must say ``lower(email)`` to use it."""
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_subscribers_email_lower ON subscribers (lower(email))")
    )


def m041_paper_embeddings(conn: Connection) -> None:
    """Table ``paper_embeddings``: each edition's passage vectors per embedding model
    (``store.embeddings``; issue 16)."""
    shape = MetaData()
    Table(
        "paper_embeddings",
        shape,
        Column("edition_id", Integer, primary_key=True),
        Column("model", String(64), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("texts", JSON, nullable=False),
        Column("starts", JSON, nullable=False),
        Column("vectors", LargeBinary, nullable=False),
        Column("created_at", _TIME, nullable=False),
    )
    shape.create_all(conn)


def m042_topic_embeddings(conn: Connection) -> None:
    """Table ``topic_embeddings``: topic vectors cached by phrase and model (issue 16)."""
    shape = MetaData()
    Table(
        "topic_embeddings",
        shape,
        Column("model", String(64), primary_key=True),
        Column("phrase", String(400), primary_key=True),
        Column("vector", LargeBinary, nullable=False),
        Column("created_at", _TIME, nullable=False),
    )
    shape.create_all(conn)


MIGRATIONS: list[tuple[str, Migration]] = [
    ("m001_initial", m001_initial),
    ("m002_ledger_data_started", m002_ledger_data_started),
    ("m010_edition_missing_sources", m010_edition_missing_sources),
    ("m020_alerts_sent", m020_alerts_sent),
    ("m030_subscriber_token_nonce", m030_subscriber_token_nonce),
    ("m031_subscriber_ids_never_reused", m031_subscriber_ids_never_reused),
    ("m032_subscriber_token_nonce_default", m032_subscriber_token_nonce_default),
    ("m040_subscribers_email_lower_index", m040_subscribers_email_lower_index),
    ("m041_paper_embeddings", m041_paper_embeddings),
    ("m042_topic_embeddings", m042_topic_embeddings),
]


def pending_migrations(conn: Connection) -> list[str]:
    """Names of the migrations not yet recorded as applied, in order (all of them on an
    empty database)."""
    if not inspect(conn).has_table("migrations"):
        return [name for name, _ in MIGRATIONS]
    applied = set(conn.execute(select(migrations_table.c.name)).scalars())
    return [name for name, _ in MIGRATIONS if name not in applied]


def upgrade(conn: Connection, now: dt.datetime, *, until: str | None = None) -> list[str]:
    """Apply every pending migration in order (up to and including ``until``, when given:
    tests build an old database that way); return the names applied."""
    metadata.create_all(conn, tables=[migrations_table])
    todo = set(pending_migrations(conn))
    done: list[str] = []
    for name, migrate in MIGRATIONS:
        if name in todo:
            migrate(conn)
            conn.execute(migrations_table.insert().values(name=name, applied_at=now))
            done.append(name)
        if name == until:
            break
    return done
