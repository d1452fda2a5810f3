"""The current tables (SQLAlchemy Core), as every query in ``newsletter.store`` sees them.

One code path serves SQLite and PostgreSQL. The database gets its shape only from the
migrations in ``newsletter.store.migrations``; these tables must equal what they build
(``tests/store/test_migrations.py`` checks it), so a column added here needs a migration.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
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
    func,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        """An aware datetime converted to UTC; ``ValueError`` for a naive one."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC time")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: object
    ) -> dt.datetime | None:
        """The stored time as aware UTC (SQLite returns it naive)."""
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
# Serves the case-insensitive lookup of an address (m040).
Index("ix_subscribers_email_lower", func.lower(subscribers.c.email))

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

# The passage vectors of an edition's papers, one row per (edition, model) (m041):
# ``texts`` the passages (JSON list), ``starts`` each paper's first passage (JSON list),
# ``vectors`` float16 rows, ``fingerprint`` sha256 of the passages (stale rows are redone).
paper_embeddings = Table(
    "paper_embeddings",
    metadata,
    Column("edition_id", Integer, primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("texts", JSON, nullable=False),
    Column("starts", JSON, nullable=False),
    Column("vectors", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Topic vectors by phrase (the normalised topic) and model, float16 (m042).
topic_embeddings = Table(
    "topic_embeddings",
    metadata,
    Column("model", String(64), primary_key=True),
    Column("phrase", String(400), primary_key=True),
    Column("vector", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
