"""Subscribers: create, read, change, and who gets today's email."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import Connection, RowMapping, and_, delete, func, insert, or_, select, update

from newsletter.addresses import normalize_email
from newsletter.errors import InputError, NotFoundError
from newsletter.models import SUBSCRIBER_STATUSES, Profile, Subscriber, SubscriberStatus
from newsletter.store import inbox as events
from newsletter.store import subscriber_history
from newsletter.store.schema import feedback, ledger, subscribers
from newsletter.text import one_line, plain

log = logging.getLogger(__name__)

MAX_TOPICS = 20
NO_INTERESTS = Profile()
MAX_TOPIC_LENGTH = 100
MAX_NAME_LENGTH = 200  # the column's size


def clean_name(name: str) -> str:
    """A display name as stored: one line of plain text (``text.one_line``: no control or
    bidi-override characters, no NUL, which PostgreSQL refuses), at most
    ``MAX_NAME_LENGTH`` characters."""
    return one_line(name, MAX_NAME_LENGTH)


def clean_terms(values: Iterable[str], field: str = "topics") -> tuple[str, ...]:
    """Strip, collapse whitespace, drop control and bidi-override characters
    (``text.plain``), drop empties and duplicates (case-insensitive), cap counts."""
    seen: dict[str, str] = {}
    for raw in values:
        term = plain(raw)
        if not term:
            continue
        if len(term) > MAX_TOPIC_LENGTH:
            raise InputError(
                field, raw, f"longer than {MAX_TOPIC_LENGTH} characters: {term[:40]!r}…"
            )
        seen.setdefault(term.casefold(), term)
    if len(seen) > MAX_TOPICS:
        raise InputError(field, len(seen), f"at most {MAX_TOPICS} allowed, got {len(seen)}")
    return tuple(seen.values())


def clean_profile(profile: Profile) -> Profile:
    """``profile`` with its terms cleaned (``clean_terms``); ``InputError`` past the caps."""
    return Profile(
        topics=clean_terms(profile.topics, "topics"),
        categories=clean_terms(profile.categories, "categories"),
        authors=clean_terms(profile.authors, "authors"),
        exclude=clean_terms(profile.exclude, "exclude"),
    )


def _row_to_subscriber(row: RowMapping) -> Subscriber:
    return Subscriber(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        profile=Profile(
            topics=tuple(row["topics"] or ()),
            categories=tuple(row["categories"] or ()),
            authors=tuple(row["authors"] or ()),
            exclude=tuple(row["exclude"] or ()),
        ),
        status=row["status"],
        frequency=row["frequency"],
        paused_until=row["paused_until"],
        created_at=row["created_at"],
        token_nonce=row["token_nonce"] or "",
        legacy_tokens=bool(row["legacy_tokens"]),
    )


def _profile_values(profile: Profile, *, cleaned: bool = False) -> dict[str, Any]:
    if not cleaned:
        profile = clean_profile(profile)
    return {
        "topics": list(profile.topics),
        "categories": list(profile.categories),
        "authors": list(profile.authors),
        "exclude": list(profile.exclude),
    }


def add(
    conn: Connection,
    email: str,
    *,
    now: dt.datetime,
    name: str = "",
    profile: Profile = NO_INTERESTS,
    status: SubscriberStatus = "active",
) -> Subscriber:
    """Insert a new subscriber; an address that exists already is an ``InputError``."""
    address = normalize_email(email)
    if get_by_email(conn, address) is not None:
        raise InputError("email", address, f"{address} is already on the list")
    if status not in SUBSCRIBER_STATUSES:
        raise InputError("status", status, f"unknown status {status!r}")
    values = {
        "email": address,
        "name": clean_name(name),
        "status": status,
        "frequency": "daily",
        "bounce_score": 0.0,
        "created_at": now,
        "updated_at": now,
        "confirmed_at": now if status == "active" else None,
        "token_nonce": secrets.token_hex(16),
        "legacy_tokens": False,
        **_profile_values(profile),
    }
    new_id = conn.execute(insert(subscribers).values(**values)).inserted_primary_key
    assert new_id is not None
    return get(conn, int(new_id[0]))


def listed_addresses(conn: Connection) -> set[str]:
    """Every address on the list, lower-cased (one query: set-based lookups for imports)."""
    return set(conn.execute(select(func.lower(subscribers.c.email))).scalars())


ADD_MANY_CHUNK = 2_000


def add_many(
    conn: Connection, people: Sequence[Subscriber], *, now: dt.datetime, cleaned: bool = False
) -> int:
    """Insert new subscribers in batches of ``ADD_MANY_CHUNK`` rows (an import); return how
    many. Each ``Subscriber`` gives email (normalised, not on the list: the caller checks
    with ``listed_addresses``), name, profile, status, frequency and paused_until; its id
    is ignored. ``cleaned``: the profiles went through ``clean_profile`` already (an
    import's parser did it), so they are not cleaned twice. A duplicate address is a
    ``ConstraintError`` and nothing is added (the caller's transaction)."""
    added = 0
    for start in range(0, len(people), ADD_MANY_CHUNK):
        rows = []
        for person in people[start : start + ADD_MANY_CHUNK]:
            if person.status not in SUBSCRIBER_STATUSES:
                raise InputError("status", person.status, f"unknown status {person.status!r}")
            rows.append(
                {
                    "email": person.email,
                    "name": clean_name(person.name),
                    "status": person.status,
                    "frequency": person.frequency,
                    "paused_until": person.paused_until,
                    "bounce_score": 0.0,
                    "created_at": now,
                    "updated_at": now,
                    "confirmed_at": now if person.status == "active" else None,
                    "unsubscribed_at": now if person.status == "unsubscribed" else None,
                    "token_nonce": secrets.token_hex(16),
                    "legacy_tokens": False,
                    **_profile_values(person.profile, cleaned=cleaned),
                }
            )
        _insert_many(conn, rows)
        added += len(rows)
    if any(person.status in KEPT_OUT for person in people):
        _history_of_kept_out(conn, now)
    return added


# Statuses an import can give that stop sending: each gets a history entry, so
# `subscribers show` says when and how the reader came to be so.
KEPT_OUT = ("unsubscribed", "bounced")


def _history_of_kept_out(conn: Connection, now: dt.datetime) -> None:
    """One status change (``imported -> unsubscribed``, by ``import``) for each reader
    ``add_many`` just added (``created_at == now``) as unsubscribed or bounced."""
    added = conn.execute(
        select(subscribers.c.id, subscribers.c.status).where(
            subscribers.c.created_at == now, subscribers.c.status.in_(KEPT_OUT)
        )
    )
    for subscriber_id, status in added:
        subscriber_history.record_status_change(
            conn, subscriber_id, "imported", status, now=now, by="import"
        )


def _insert_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` every row in one driver ``executemany``. Each value goes through its
    column type's own bind processor (JSON text, SQLite's datetime format), once per
    distinct value: an import's rows share their times and most of their lists, and
    SQLAlchemy's per-row parameter handling was half of an import's time."""
    keys = list(rows[0])
    compiled = insert(subscribers).compile(
        dialect=conn.dialect, column_keys=keys, for_executemany=True
    )
    processors = {
        key: subscribers.c[key].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        for key in keys
    }
    seen: dict[str, dict[Any, Any]] = {key: {} for key in keys}

    def value(key: str, raw: Any) -> Any:
        process = processors[key]
        if process is None:
            return raw
        memo = seen[key]
        token = tuple(raw) if isinstance(raw, list) else raw
        if token not in memo:
            memo[token] = process(raw)
        return memo[token]

    if compiled.positiontup is not None:  # qmark (SQLite): tuples in the statement's order
        order = list(compiled.positiontup)
        params: list[Any] = [tuple(value(k, row[k]) for k in order) for row in rows]
    else:  # pyformat (psycopg): one dict per row
        params = [{k: value(k, row[k]) for k in keys} for row in rows]
    conn.exec_driver_sql(str(compiled), params)


def get(conn: Connection, subscriber_id: int) -> Subscriber:
    """The subscriber ``subscriber_id``; ``NotFoundError`` when there is none."""
    found = find(conn, subscriber_id)
    if found is None:
        raise NotFoundError(f"subscriber #{subscriber_id}")
    return found


def find(conn: Connection, subscriber_id: int) -> Subscriber | None:
    """The subscriber with this id, or ``None`` (a removed one, or a forged id)."""
    row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).mappings()
    found = row.first()
    return _row_to_subscriber(found) if found else None


def get_by_email(conn: Connection, email: str) -> Subscriber | None:
    """The subscriber with this address (normalised first), or None; ``InputError`` for
    an invalid address."""
    address = normalize_email(email)
    query = select(subscribers).where(func.lower(subscribers.c.email) == address.lower())
    found = conn.execute(query).mappings().first()
    return _row_to_subscriber(found) if found else None


def require_by_email(conn: Connection, email: str) -> Subscriber:
    """The subscriber with this address; ``NotFoundError`` when there is none."""
    found = get_by_email(conn, email)
    if found is None:
        raise NotFoundError(f"subscriber {normalize_email(email)}")
    return found


def get_many(conn: Connection, ids: Sequence[int]) -> dict[int, Subscriber]:
    """The subscribers among ``ids`` that exist, by id."""
    if not ids:
        return {}
    rows = conn.execute(select(subscribers).where(subscribers.c.id.in_(list(ids)))).mappings()
    return {row["id"]: _row_to_subscriber(row) for row in rows}


def list_all(conn: Connection, status: str | None = None) -> list[Subscriber]:
    """Every subscriber (with ``status`` only, when given), in id order."""
    query = select(subscribers).order_by(subscribers.c.id)
    if status:
        query = query.where(subscribers.c.status == status)
    return [_row_to_subscriber(row) for row in conn.execute(query).mappings()]


def count_by_status(conn: Connection) -> dict[str, int]:
    """The number of subscribers in each status."""
    rows = conn.execute(
        select(subscribers.c.status, func.count()).group_by(subscribers.c.status)
    ).all()
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in SUBSCRIBER_STATUSES}


def sendable_condition(on: dt.date, *, weekly_due: bool = False) -> Any:
    """SQL condition: who gets an email on date ``on`` (checked at claim and at send time)."""
    active = subscribers.c.status == "active"
    pause_over = and_(
        subscribers.c.status == "paused",
        subscribers.c.paused_until.is_not(None),
        subscribers.c.paused_until <= on,
    )
    frequency = (
        subscribers.c.frequency.in_(["daily", "weekly"])
        if weekly_due
        else subscribers.c.frequency == "daily"
    )
    return and_(or_(active, pause_over), frequency)


def sendable_ids(conn: Connection, on: dt.date, *, weekly_due: bool = False) -> list[int]:
    """The ids of the subscribers who get the edition of ``on`` (weekly readers only when
    ``weekly_due``)."""
    query = (
        select(subscribers.c.id)
        .where(sendable_condition(on, weekly_due=weekly_due))
        .order_by(subscribers.c.id)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def sendable_topics(conn: Connection, on: dt.date) -> set[str]:
    """Every topic, as written, of the daily readers who get the edition of ``on``."""
    query = select(subscribers.c.topics).where(sendable_condition(on))
    return {str(t) for topics in conn.execute(query).scalars() for t in topics or ()}


def is_sendable(subscriber: Subscriber, on: dt.date) -> bool:
    """Whether ``subscriber`` may get the edition of ``on`` (active, not paused that day)."""
    if subscriber.status == "active":
        return True
    return (
        subscriber.status == "paused"
        and subscriber.paused_until is not None
        and subscriber.paused_until <= on
    )


def set_status(
    conn: Connection,
    subscriber_id: int,
    status: SubscriberStatus,
    *,
    now: dt.datetime,
    by: str = "",
) -> None:
    """Set the subscriber's status (``active`` also confirms and ends a pause;
    ``unsubscribed`` notes when); ``InputError`` for an unknown status. A change is kept in
    the reader's history with ``by`` (who asked: ``operator``, ``web``, ``reply``,
    ``bounces``, ``complaint``)."""
    _update(conn, subscriber_id, _status_values(status, now), by=by)


def _status_values(status: str, now: dt.datetime) -> dict[str, Any]:
    if status not in SUBSCRIBER_STATUSES:
        raise InputError("status", status, f"unknown status {status!r}")
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if status == "active":
        values["confirmed_at"] = now
        values["paused_until"] = None
    if status == "unsubscribed":
        values["unsubscribed_at"] = now
    return values


def change_status(
    conn: Connection,
    subscriber_id: int,
    status: SubscriberStatus,
    *,
    expected: Collection[str],
    now: dt.datetime,
    by: str = "",
) -> str | None:
    """``set_status``, only while the row's status is one of ``expected``: a
    compare-and-set in one UPDATE (``WHERE status = <the status read>``). Returns the
    status it changed from, or None when it changed nothing (another request got there
    first, or the status is not expected). Two racing requests (a double click, a mail
    provider's one-click POST beside the reader's own) change it once, so the email
    that follows the change goes once. ``NotFoundError`` for no such subscriber."""
    values = _status_values(status, now)
    query = select(subscribers.c.status).where(subscribers.c.id == subscriber_id)
    old = conn.execute(query).scalar()
    if old is None:
        raise NotFoundError(f"subscriber #{subscriber_id}")
    if old not in expected or old == status:
        return None
    result = conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id, subscribers.c.status == old)
        .values(**values)
    )
    if result.rowcount == 0:
        return None
    subscriber_history.record_status_change(
        conn, subscriber_id, old, status, now=now, by=by, paused_until=None
    )
    return str(old)


def set_profile(
    conn: Connection, subscriber_id: int, profile: Profile, *, now: dt.datetime
) -> None:
    """Replace the subscriber's profile."""
    _update(conn, subscriber_id, {**_profile_values(profile), "updated_at": now})


def update_fields(
    conn: Connection, subscriber_id: int, *, now: dt.datetime, by: str = "", **values: Any
) -> None:
    """Change plain columns (name, frequency, paused_until, status, bounce_score); a status
    change is kept in the reader's history with ``by``, as in ``set_status``."""
    allowed = {"name", "frequency", "paused_until", "status", "bounce_score"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    if "name" in values:
        values["name"] = clean_name(values["name"])
    _update(conn, subscriber_id, {**values, "updated_at": now}, by=by)


def _update(conn: Connection, subscriber_id: int, values: dict[str, Any], *, by: str = "") -> None:
    old = None
    if "status" in values:
        query = select(subscribers.c.status).where(subscribers.c.id == subscriber_id)
        old = conn.execute(query).scalar()
    result = conn.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(**values)
    )
    if result.rowcount == 0:
        raise NotFoundError(f"subscriber #{subscriber_id}")
    if old is not None and old != values["status"]:
        subscriber_history.record_status_change(
            conn,
            subscriber_id,
            old,
            values["status"],
            now=values["updated_at"],
            by=by,
            paused_until=values.get("paused_until"),
        )


def remove(conn: Connection, email: str) -> Subscriber:
    """Delete a subscriber with their ledger, feedback and inbox history (the operator asked
    to forget them). Their id is never given out again, and every link they held stops
    working (it names the nonce of this row)."""
    subscriber = require_by_email(conn, email)
    conn.execute(delete(ledger).where(ledger.c.subscriber_id == subscriber.id))
    conn.execute(delete(feedback).where(feedback.c.subscriber_id == subscriber.id))
    events.forget(conn, subscriber.id, subscriber.email)
    conn.execute(delete(subscribers).where(subscribers.c.id == subscriber.id))
    return subscriber


def add_bounce(conn: Connection, subscriber_id: int, score: float, *, now: dt.datetime) -> float:
    """Add to the bounce score and return the new total."""
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id)
        .values(bounce_score=subscribers.c.bounce_score + score, updated_at=now)
    )
    total = conn.execute(
        select(subscribers.c.bounce_score).where(subscribers.c.id == subscriber_id)
    ).scalar_one()
    return float(total)


def record_bounce(
    conn: Connection,
    subscriber_id: int,
    kind: Literal["hard", "soft"],
    *,
    hard_score: float,
    soft_score: float,
    threshold: float,
    reset_days: int,
    now: dt.datetime,
) -> bool:
    """Count one bounce; ``True`` if it suppressed the subscriber (status "bounced") just now.

    The score starts again from 0 when the last counted bounce is more than ``reset_days``
    old; each counted bounce leaves a ``bounce-score`` row in ``inbox_events`` for that.
    Pass the NEWSLETTER_BOUNCE_* settings (``bounce_hard_score``, ``bounce_soft_score``,
    ``bounce_score_threshold``, ``bounce_reset_days``).
    """
    if kind not in ("hard", "soft"):
        raise ValueError(f"bounce kind must be hard or soft, not {kind!r}")
    current = get(conn, subscriber_id)
    last = events.last_bounce_at(conn, subscriber_id)
    if last is None or now - last > dt.timedelta(days=reset_days):
        update_fields(conn, subscriber_id, now=now, bounce_score=0.0)
    total = add_bounce(conn, subscriber_id, hard_score if kind == "hard" else soft_score, now=now)
    events.record(
        conn,
        f"{events.BOUNCE_SCORED}:{subscriber_id}:{uuid.uuid4().hex}",
        events.BOUNCE_SCORED,
        subscriber_id=subscriber_id,
        detail={"kind": kind, "score": total},
        now=now,
    )
    log.info("bounce (%s) for subscriber #%s: score %.1f", kind, subscriber_id, total)
    if total >= threshold and current.status not in ("unsubscribed", "bounced"):
        set_status(conn, subscriber_id, "bounced", now=now, by="bounces")
        log.info("subscriber #%s suppressed after bounces (score %.1f)", subscriber_id, total)
        return True
    return False


def bookkeeping(conn: Connection, subscriber_id: int) -> RowMapping:
    """The columns ``Subscriber`` leaves out: ``bounce_score``, ``confirmed_at``,
    ``unsubscribed_at``, ``updated_at``; ``NotFoundError`` for an unknown id."""
    query = select(
        subscribers.c.bounce_score,
        subscribers.c.confirmed_at,
        subscribers.c.unsubscribed_at,
        subscribers.c.updated_at,
    ).where(subscribers.c.id == subscriber_id)
    found = conn.execute(query).mappings().first()
    if found is None:
        raise NotFoundError(f"subscriber #{subscriber_id}")
    return found
