"""Tables (SQLAlchemy Core) and the append-only list of migrations.

One code path serves SQLite and PostgreSQL. A migration is a named function
that runs once; applied names are recorded in ``migrations``. Never edit a
migration that has shipped: append a new one.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

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
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC time")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: object
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


migrations_table = Table(
    "migrations",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("applied_at", UTCDateTime, nullable=False),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("topics", JSON, nullable=False, default=list),
    Column("categories", JSON, nullable=False, default=list),
    Column("authors", JSON, nullable=False, default=list),
    Column("exclude", JSON, nullable=False, default=list),
    Column("status", String(20), nullable=False, default="active"),
    Column("frequency", String(10), nullable=False, default="daily"),
    Column("paused_until", Date, nullable=True),
    Column("bounce_score", Float, nullable=False, default=0.0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    Column("unsubscribed_at", UTCDateTime, nullable=True),
    # Random, per row: every signed link names it, so links die with the row (m030).
    Column("token_nonce", String(32), nullable=True),
    # The row predates token_nonce: links signed the old way still verify (m030).
    Column("legacy_tokens", Boolean, nullable=True, default=False),
    # An id is never given out twice, even after a delete (m031; PostgreSQL: its sequence).
    sqlite_autoincrement=True,
)

# Every paper ever frozen into an edition, by arXiv id (feedback refers to these).
papers = Table(
    "papers",
    metadata,
    Column("arxiv_id", String(40), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
)

editions = Table(
    "editions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("date", Date, nullable=False, unique=True),
    Column("papers", JSON, nullable=False),
    Column("sources", JSON, nullable=False, default=list),
    Column("created_at", UTCDateTime, nullable=False),
    # [{"source", "error"}] of the sources that failed when it was frozen (m010).
    Column("missing", JSON, nullable=True),
)

# One row per (edition, subscriber): the send ledger.
ledger = Table(
    "ledger",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("edition_id", Integer, ForeignKey("editions.id"), nullable=False),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), nullable=False),
    Column("state", String(10), nullable=False, default="pending"),
    Column("message_id", String(300), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("claimed_by", String(200), nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_code", Integer, nullable=True),
    Column("last_text", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Set just before the message body goes out (added by m002_ledger_data_started).
    Column("data_started_at", UTCDateTime, nullable=True),
    UniqueConstraint("edition_id", "subscriber_id", name="uq_ledger_edition_subscriber"),
    Index("ix_ledger_edition_state", "edition_id", "state"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), nullable=False),
    Column("arxiv_id", String(40), nullable=False),
    Column("signal", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("subscriber_id", "arxiv_id", name="uq_feedback_subscriber_paper"),
)

# Named locks: a row exists while a holder owns it (database-level, so it holds across machines).
locks = Table(
    "locks",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("command", String(50), nullable=False),
    Column("edition_date", Date, nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("outcome", String(20), nullable=True),
    Column("summary", Text, nullable=True),
    Column("counts", JSON, nullable=True),
)

source_health = Table(
    "source_health",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_count", Integer, nullable=True),
    Column("ok", Boolean, nullable=False, default=False),
)

# Reply-mailbox and bounce events (inbox); one row per processed message.
inbox_events = Table(
    "inbox_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_key", String(400), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("subscriber_id", Integer, nullable=True),
    Column("detail", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Operator alerts already emailed: at most one per (edition date, kind of problem).
alerts_sent = Table(
    "alerts_sent",
    metadata,
    Column("edition_date", Date, primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("sent_at", UTCDateTime, nullable=False),
)

INITIAL_TABLES = (
    subscribers,
    papers,
    editions,
    ledger,
    feedback,
    locks,
    runs,
    source_health,
    inbox_events,
)


def m001_initial(conn: Connection) -> None:
    metadata.create_all(conn, tables=list(INITIAL_TABLES))


def m002_ledger_data_started(conn: Connection) -> None:
    """Ledger column ``data_started_at`` (fresh databases already have it from m001)."""
    if "data_started_at" not in {c["name"] for c in inspect(conn).get_columns("ledger")}:
        kind = DateTime(timezone=True).compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE ledger ADD COLUMN data_started_at {kind}"))


def m010_edition_missing_sources(conn: Connection) -> None:
    """Editions column ``missing`` (fresh databases already have it from m001)."""
    if "missing" not in {c["name"] for c in inspect(conn).get_columns("editions")}:
        kind = JSON().compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE editions ADD COLUMN missing {kind}"))


def m020_alerts_sent(conn: Connection) -> None:
    """Table ``alerts_sent`` (one alert email per edition and kind of problem)."""
    metadata.create_all(conn, tables=[alerts_sent])


def m030_subscriber_token_nonce(conn: Connection) -> None:
    """Columns ``token_nonce`` and ``legacy_tokens``; every existing row gets a random nonce
    and keeps its old-format links (``newsletter.tokens``, version 0) working."""
    present = {c["name"] for c in inspect(conn).get_columns("subscribers")}
    for name, kind in (("token_nonce", String(32)), ("legacy_tokens", Boolean())):
        if name not in present:
            sql_type = kind.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE subscribers ADD COLUMN {name} {sql_type}"))
    missing = select(subscribers.c.id).where(subscribers.c.token_nonce.is_(None))
    fill = (
        update(subscribers)
        .where(subscribers.c.id == bindparam("row_id"))
        .values(token_nonce=bindparam("nonce"), legacy_tokens=True)
    )
    while ids := conn.execute(missing.limit(10_000)).scalars().all():
        conn.execute(fill, [{"row_id": i, "nonce": secrets.token_hex(16)} for i in ids])


def m031_subscriber_ids_never_reused(conn: Connection) -> None:
    """Subscriber ids are never given out again, and no history waits for a new holder.

    SQLite reuses the highest rowid of an ``INTEGER PRIMARY KEY`` after a delete: the table
    is rebuilt with AUTOINCREMENT (https://sqlite.org/autoinc.html), its counter set past
    every id ever seen. ``inbox_events`` rows that belong to no one on the list, or to an
    earlier holder of a reused id (older than the row that has the id now), are deleted:
    ``subscribers remove`` left them behind before. PostgreSQL's sequence never goes
    back. Needs foreign keys off on SQLite (``Store.upgrade`` does that)."""
    seen = [subscribers.c.id, ledger.c.subscriber_id, feedback.c.subscriber_id]
    top = max(
        [int(conn.execute(select(func.max(c))).scalar() or 0) for c in seen]
        + [int(conn.execute(select(func.max(inbox_events.c.subscriber_id))).scalar() or 0)]
    )
    holder_since = (
        select(subscribers.c.created_at)
        .where(subscribers.c.id == inbox_events.c.subscriber_id)
        .scalar_subquery()
    )
    conn.execute(
        delete(inbox_events).where(
            inbox_events.c.subscriber_id.is_not(None),
            or_(
                inbox_events.c.subscriber_id.not_in(select(subscribers.c.id)),
                inbox_events.c.created_at < holder_since,
            ),
        )
    )
    if conn.dialect.name != "sqlite":
        return
    found = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'subscribers'"
    if "AUTOINCREMENT" not in str(conn.execute(text(found)).scalar()).upper():
        rebuilt = subscribers.to_metadata(MetaData(), name="subscribers_m031")
        rebuilt.create(conn)
        names = [c.name for c in subscribers.columns]
        conn.execute(insert(rebuilt).from_select(names, select(*subscribers.columns)))
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


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_initial", m001_initial),
    ("m002_ledger_data_started", m002_ledger_data_started),
    ("m010_edition_missing_sources", m010_edition_missing_sources),
    ("m020_alerts_sent", m020_alerts_sent),
    ("m030_subscriber_token_nonce", m030_subscriber_token_nonce),
    ("m031_subscriber_ids_never_reused", m031_subscriber_ids_never_reused),
    ("m032_subscriber_token_nonce_default", m032_subscriber_token_nonce_default),
]


def pending_migrations(conn: Connection) -> list[str]:
    if not inspect(conn).has_table("migrations"):
        return [name for name, _ in MIGRATIONS]
    applied = set(conn.execute(select(migrations_table.c.name)).scalars())
    return [name for name, _ in MIGRATIONS if name not in applied]


def upgrade(conn: Connection, now: dt.datetime) -> list[str]:
    """Apply every pending migration in order; return the names applied."""
    metadata.create_all(conn, tables=[migrations_table])
    todo = set(pending_migrations(conn))
    done: list[str] = []
    for name, migrate in MIGRATIONS:
        if name in todo:
            migrate(conn)
            conn.execute(migrations_table.insert().values(name=name, applied_at=now))
            done.append(name)
    return done
