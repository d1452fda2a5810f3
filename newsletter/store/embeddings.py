"""Stored embeddings: an edition's passage vectors, and topic vectors cached by phrase.

Vectors are kept as float16 bytes (half the space; cosine changes by under 1e-3) and come
back as float32 arrays. ``texts`` and ``starts`` are those of ``rank.semantic.PaperVectors``
(this module stores plain values, it does not import ``rank``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from sqlalchemy import Connection, delete, insert, select

from newsletter.store.schema import editions, paper_embeddings, topic_embeddings

MAX_PHRASE = 400  # longer topics are embedded each time, not cached


def _to_bytes(vectors: np.ndarray) -> bytes:
    return np.ascontiguousarray(vectors, dtype="<f2").tobytes()


def _from_bytes(data: bytes, dimensions: int) -> np.ndarray:
    return np.frombuffer(data, dtype="<f2").astype(np.float32).reshape(-1, dimensions)


def load_papers(
    conn: Connection, edition_id: int, model: str, fingerprint: str, dimensions: int
) -> tuple[np.ndarray, list[str], list[int]] | None:
    """``(vectors, texts, starts)`` stored for the edition and model, or ``None`` when there
    are none or they were made from other passages (``fingerprint`` differs)."""
    row = (
        conn.execute(
            select(paper_embeddings).where(
                paper_embeddings.c.edition_id == edition_id, paper_embeddings.c.model == model
            )
        )
        .mappings()
        .first()
    )
    if row is None or row["fingerprint"] != fingerprint:
        return None
    return _from_bytes(row["vectors"], dimensions), list(row["texts"]), list(row["starts"])


def load_papers_between(
    conn: Connection, model: str, after: dt.date, until: dt.date, dimensions: int
) -> list[tuple[np.ndarray, list[str], list[int]]]:
    """``(vectors, texts, starts)`` of every edition dated after ``after`` up to ``until``
    that has passage vectors for ``model`` (a week's digest), newest first."""
    query = (
        select(paper_embeddings.c.vectors, paper_embeddings.c.texts, paper_embeddings.c.starts)
        .join(editions, editions.c.id == paper_embeddings.c.edition_id)
        .where(paper_embeddings.c.model == model, editions.c.date > after, editions.c.date <= until)
        .order_by(editions.c.date.desc())
    )
    return [
        (_from_bytes(vectors, dimensions), list(texts), list(starts))
        for vectors, texts, starts in conn.execute(query)
    ]


def save_papers(
    conn: Connection,
    edition_id: int,
    model: str,
    fingerprint: str,
    vectors: np.ndarray,
    texts: Sequence[str],
    starts: Sequence[int],
    now: dt.datetime,
) -> None:
    """Store (or replace) the edition's passage vectors for ``model``."""
    conn.execute(
        delete(paper_embeddings).where(
            paper_embeddings.c.edition_id == edition_id, paper_embeddings.c.model == model
        )
    )
    conn.execute(
        insert(paper_embeddings).values(
            edition_id=edition_id,
            model=model,
            fingerprint=fingerprint,
            texts=list(texts),
            starts=[int(s) for s in starts],
            vectors=_to_bytes(vectors),
            created_at=now,
        )
    )


def load_topics(
    conn: Connection, model: str, phrases: Sequence[str], dimensions: int
) -> dict[str, np.ndarray]:
    """The cached vectors of those ``phrases`` that have one."""
    wanted = sorted({p for p in phrases if len(p) <= MAX_PHRASE})
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(topic_embeddings.c.phrase, topic_embeddings.c.vector).where(
            topic_embeddings.c.model == model, topic_embeddings.c.phrase.in_(chunk)
        )
        for phrase, data in conn.execute(query):
            found[phrase] = _from_bytes(data, dimensions)[0]
    return found


def save_topics(
    conn: Connection, model: str, vectors: dict[str, np.ndarray], now: dt.datetime
) -> None:
    """Cache the vectors of new phrases (phrases already cached are left as they are)."""
    fresh = {p: v for p, v in vectors.items() if len(p) <= MAX_PHRASE}
    if not fresh:
        return
    known: set[str] = set()
    wanted = sorted(fresh)
    for start in range(0, len(wanted), 500):
        query = select(topic_embeddings.c.phrase).where(
            topic_embeddings.c.model == model,
            topic_embeddings.c.phrase.in_(wanted[start : start + 500]),
        )
        known.update(conn.execute(query).scalars())
    rows = [
        {"model": model, "phrase": p, "vector": _to_bytes(v[None, :]), "created_at": now}
        for p, v in fresh.items()
        if p not in known
    ]
    if rows:
        conn.execute(insert(topic_embeddings), rows)
