"""Editions: the day's papers, frozen before anything is sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, RowMapping, delete, insert, select
from sqlalchemy.exc import IntegrityError

from newsletter.models import Edition, Paper
from newsletter.store.schema import editions, ledger, papers

SEEN_WINDOW_DAYS = 30


def _row_to_edition(row: RowMapping) -> Edition:
    return Edition(
        id=row["id"],
        date=row["date"],
        papers=tuple(Paper.from_json(item) for item in row["papers"]),
        created_at=row["created_at"],
        sources=tuple(row["sources"] or ()),
        missing=tuple((str(m["source"]), str(m["error"])) for m in row["missing"] or ()),
    )


def get_by_date(conn: Connection, date: dt.date) -> Edition | None:
    """The edition of ``date``, or None."""
    row = conn.execute(select(editions).where(editions.c.date == date)).mappings().first()
    return _row_to_edition(row) if row else None


def get(conn: Connection, edition_id: int) -> Edition | None:
    """The edition with id ``edition_id``, or None."""
    row = conn.execute(select(editions).where(editions.c.id == edition_id)).mappings().first()
    return _row_to_edition(row) if row else None


def latest(conn: Connection) -> Edition | None:
    """The most recent edition, or None."""
    query = select(editions).order_by(editions.c.date.desc()).limit(1)
    row = conn.execute(query).mappings().first()
    return _row_to_edition(row) if row else None


def recent(conn: Connection, limit: int = 10) -> list[Edition]:
    """The ``limit`` most recent editions, newest first."""
    query = select(editions).order_by(editions.c.date.desc()).limit(limit)
    return [_row_to_edition(row) for row in conn.execute(query).mappings()]


def freeze(
    conn: Connection,
    date: dt.date,
    day_papers: Sequence[Paper],
    *,
    sources: Sequence[str],
    now: dt.datetime,
    missing: Sequence[tuple[str, str]] = (),
) -> Edition:
    """Store the day's papers as the edition of ``date``; an existing edition wins (no refetch).

    ``missing``: (source, error) of the sources that failed, stored with the edition.
    """
    existing = get_by_date(conn, date)
    if existing is not None:
        return existing
    known = {
        row
        for row in conn.execute(
            select(papers.c.arxiv_id).where(papers.c.arxiv_id.in_([p.arxiv_id for p in day_papers]))
        ).scalars()
    }
    fresh = [
        {"arxiv_id": p.arxiv_id, "data": p.to_json(), "first_seen": now}
        for p in day_papers
        if p.arxiv_id not in known
    ]
    if fresh:
        conn.execute(insert(papers), fresh)
    try:
        result = conn.execute(
            insert(editions).values(
                date=date,
                papers=[p.to_json() for p in day_papers],
                sources=list(sources),
                created_at=now,
                missing=[{"source": name, "error": error} for name, error in missing],
            )
        )
    except IntegrityError:  # pragma: no cover - another process froze it first (lock prevents)
        found = get_by_date(conn, date)
        assert found is not None
        return found
    key = result.inserted_primary_key
    assert key is not None
    return Edition(
        id=int(key[0]),
        date=date,
        papers=tuple(day_papers),
        created_at=now,
        sources=tuple(sources),
        missing=tuple(missing),
    )


def gone_out(conn: Connection, edition_id: int) -> str | None:
    """Why some message of the edition may have reached a reader, or None if none can have.

    A row counts once it is ``sent``, ``unknown`` or ``sending`` (in flight), or once its
    body started to go out (``data_started_at``).
    """
    rows = conn.execute(
        select(ledger.c.state, ledger.c.data_started_at).where(ledger.c.edition_id == edition_id)
    ).all()
    states: dict[str, int] = {}
    for state, data_started in rows:
        if state in ("sent", "unknown", "sending") or data_started is not None:
            key = state if state in ("sent", "unknown", "sending") else "started"
            states[key] = states.get(key, 0) + 1
    if not states:
        return None
    return ", ".join(f"{n} {state}" for state, n in sorted(states.items()))


def discard(conn: Connection, edition_id: int) -> int:
    """Delete an edition and its ledger rows that cannot have gone out; the rows deleted.

    Call ``gone_out`` first. A row claimed meanwhile stays, and then the edition's own
    delete fails on the foreign key (``IntegrityError``): the caller's transaction rolls back.
    """
    unsent = conn.execute(
        delete(ledger).where(
            ledger.c.edition_id == edition_id,
            ledger.c.state.in_(("pending", "deferred", "failed")),
            ledger.c.data_started_at.is_(None),
        )
    ).rowcount
    conn.execute(delete(editions).where(editions.c.id == edition_id))
    return int(unsent or 0)


def known_papers(conn: Connection, arxiv_ids: Sequence[str]) -> dict[str, Paper]:
    """The papers among ``arxiv_ids`` already in an edition, by arXiv id."""
    rows = conn.execute(select(papers).where(papers.c.arxiv_id.in_(list(arxiv_ids)))).mappings()
    return {row["arxiv_id"]: Paper.from_json(row["data"]) for row in rows}


def seen_before(conn: Connection, arxiv_ids: Sequence[str], date: dt.date) -> set[str]:
    """The ids among ``arxiv_ids`` that went out in an edition before ``date``.

    arXiv API queries look back a few days, so the same paper can be collected again;
    a reader should see it once.
    """
    if not arxiv_ids:
        return set()
    window = date - dt.timedelta(days=SEEN_WINDOW_DAYS)
    query = select(editions.c.papers).where(editions.c.date < date, editions.c.date >= window)
    earlier = conn.execute(query).scalars()
    wanted = set(arxiv_ids)
    return {item["arxiv_id"] for papers_json in earlier for item in papers_json} & wanted


def papers_between(conn: Connection, after: dt.date, until: dt.date) -> list[Paper]:
    """Papers of the editions dated after ``after`` up to ``until`` (a week's digest), once each."""
    query = (
        select(editions.c.papers)
        .where(editions.c.date > after, editions.c.date <= until)
        .order_by(editions.c.date.desc())
    )
    found: dict[str, Paper] = {}
    for papers_json in conn.execute(query).scalars():
        for item in papers_json:
            found.setdefault(item["arxiv_id"], Paper.from_json(item))
    return list(found.values())
