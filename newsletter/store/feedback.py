"""Feedback signals ("more like this" +1 / "less like this" -1), per subscriber and paper.

A later click on the same paper replaces the earlier signal (one row per pair).
Papers are read back from the ``papers`` table, which the edition code fills.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, select

from newsletter.errors import InputError, NotFoundError
from newsletter.models import Feedback, Paper
from newsletter.store.schema import feedback, papers

_BATCH = 5000


def _upsert(conn: Connection, values: dict[str, object]) -> None:
    keys = ["subscriber_id", "arxiv_id"]
    update = {"signal": values["signal"], "created_at": values["created_at"]}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(feedback).values(**values)
        conn.execute(pg.on_conflict_do_update(index_elements=keys, set_=update))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(feedback).values(**values)
        conn.execute(lite.on_conflict_do_update(index_elements=keys, set_=update))


def record(
    conn: Connection, subscriber_id: int, arxiv_id: str, signal: int, now: dt.datetime
) -> None:
    """Store one click; a later click on the same paper replaces the earlier one."""
    if signal not in (1, -1):
        raise InputError("signal", signal, f"must be +1 or -1, got {signal!r}")
    known = conn.execute(select(papers.c.arxiv_id).where(papers.c.arxiv_id == arxiv_id)).first()
    if known is None:
        raise NotFoundError(f"paper {arxiv_id}")
    _upsert(
        conn,
        {"subscriber_id": subscriber_id, "arxiv_id": arxiv_id, "signal": signal, "created_at": now},
    )


def for_subscribers(conn: Connection, subscriber_ids: Sequence[int]) -> dict[int, list[Feedback]]:
    """Every subscriber's signals, oldest first (subscribers without any are left out)."""
    out: dict[int, list[Feedback]] = {}
    ids = list(dict.fromkeys(subscriber_ids))
    cache: dict[str, Paper] = {}
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        rows = conn.execute(
            select(
                feedback.c.subscriber_id,
                feedback.c.arxiv_id,
                feedback.c.signal,
                feedback.c.created_at,
                papers.c.data,
            )
            .join(papers, papers.c.arxiv_id == feedback.c.arxiv_id)
            .where(feedback.c.subscriber_id.in_(batch))
            .order_by(feedback.c.subscriber_id, feedback.c.created_at, feedback.c.id)
        )
        for subscriber_id, arxiv_id, signal, created_at, data in rows:
            paper = cache.get(arxiv_id)
            if paper is None:
                paper = cache[arxiv_id] = Paper.from_json(data)
            out.setdefault(subscriber_id, []).append(
                Feedback(subscriber_id, paper, int(signal), created_at)
            )
    return out


def remove(conn: Connection, subscriber_id: int, arxiv_id: str, signal: int) -> bool:
    """Undo one click: delete the subscriber's signal on ``arxiv_id`` if it is still
    ``signal`` (a later, different click is kept). True when a row was deleted."""
    result = conn.execute(
        feedback.delete().where(
            feedback.c.subscriber_id == subscriber_id,
            feedback.c.arxiv_id == arxiv_id,
            feedback.c.signal == signal,
        )
    )
    return bool(result.rowcount)
