"""Editions: the day's papers, frozen before anything is sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, RowMapping, insert, select
from sqlalchemy.exc import IntegrityError

from newsletter.models import Edition, Paper
from newsletter.store.schema import editions, papers

SEEN_WINDOW_DAYS = 30


def _row_to_edition(row: RowMapping) -> Edition:
    return Edition(
        id=row["id"],
        date=row["date"],
        papers=tuple(Paper.from_json(item) for item in row["papers"]),
        created_at=row["created_at"],
    )


def get_by_date(conn: Connection, date: dt.date) -> Edition | None:
    row = conn.execute(select(editions).where(editions.c.date == date)).mappings().first()
    return _row_to_edition(row) if row else None


def get(conn: Connection, edition_id: int) -> Edition | None:
    row = conn.execute(select(editions).where(editions.c.id == edition_id)).mappings().first()
    return _row_to_edition(row) if row else None


def latest(conn: Connection) -> Edition | None:
    query = select(editions).order_by(editions.c.date.desc()).limit(1)
    row = conn.execute(query).mappings().first()
    return _row_to_edition(row) if row else None


def recent(conn: Connection, limit: int = 10) -> list[Edition]:
    query = select(editions).order_by(editions.c.date.desc()).limit(limit)
    return [_row_to_edition(row) for row in conn.execute(query).mappings()]


def freeze(
    conn: Connection,
    date: dt.date,
    day_papers: Sequence[Paper],
    *,
    sources: Sequence[str],
    now: dt.datetime,
) -> Edition:
    """Store the day's papers as the edition of ``date``; an existing edition wins (no refetch)."""
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
            )
        )
    except IntegrityError:  # pragma: no cover - another process froze it first (lock prevents)
        found = get_by_date(conn, date)
        assert found is not None
        return found
    key = result.inserted_primary_key
    assert key is not None
    return Edition(id=int(key[0]), date=date, papers=tuple(day_papers), created_at=now)


def known_papers(conn: Connection, arxiv_ids: Sequence[str]) -> dict[str, Paper]:
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
