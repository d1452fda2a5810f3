"""Embeddings of a week's digest: the week's papers' vectors gathered from its editions.

A weekly reader's digest ranks the papers of the edition and the six before it
(``personalize.personalizer``). Each of those editions' passage vectors were stored when it
was ranked (``pipeline.embeddings``, m041), so ``WeekEmbeddings.papers`` reuses them: a
paper whose passages (``rank.semantic.passages``, compared as text) are stored for one of
the week's editions takes those vectors; any other (an edition ranked without the semantic
extra, or a paper whose text changed since) is embedded now, in one call, and not stored.
Topic vectors come from the daily ``StoredEmbeddings`` (cached by phrase).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Sequence

import numpy as np

from newsletter.models import Paper
from newsletter.pipeline.embeddings import StoredEmbeddings
from newsletter.rank.embed import DIMENSIONS
from newsletter.rank.semantic import PaperVectors, passages
from newsletter.store import embeddings as stored
from newsletter.store.db import Store

log = logging.getLogger(__name__)

WEEK = dt.timedelta(days=7)


class WeekEmbeddings:
    """``rank.hybrid.Embeddings`` for the week up to ``until`` (the edition's date): the
    editions dated after ``until − 7 days`` up to ``until``, as ``editions.papers_between``."""

    def __init__(self, store: Store, daily: StoredEmbeddings, until: dt.date) -> None:
        self.store = store
        self.daily = daily
        self.until = until

    def papers(self, papers: Sequence[Paper]) -> PaperVectors:
        """The papers' passage vectors, in order: stored ones reused, the rest embedded now."""
        known: dict[tuple[str, ...], np.ndarray] = {}
        with self.store.begin() as conn:
            rows = stored.load_papers_between(
                conn, self.daily.encoder.model_id, self.until - WEEK, self.until, DIMENSIONS
            )
        for stored_vectors, stored_texts, stored_starts in rows:
            for start, end in itertools.pairwise(stored_starts):
                known.setdefault(tuple(stored_texts[start:end]), stored_vectors[start:end])
        texts: list[str] = []
        starts_out = [0]
        missing: list[int] = []  # indexes into texts of passages to embed now
        parts: list[np.ndarray | None] = []
        for paper in papers:
            own = passages(paper)
            found = known.get(tuple(own))
            if found is None:
                missing.extend(range(len(texts), len(texts) + len(own)))
            parts.append(found)
            texts.extend(own)
            starts_out.append(len(texts))
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for i, found in enumerate(parts):
            if found is not None:
                vectors[starts_out[i] : starts_out[i + 1]] = found
        if missing:
            vectors[missing] = self.daily.encoder.encode([texts[i] for i in missing])
        log.info(
            "week of %s: %d papers, %d passages reused, %d embedded",
            self.until,
            len(papers),
            len(texts) - len(missing),
            len(missing),
        )
        return PaperVectors(vectors, tuple(texts), np.asarray(starts_out, dtype=np.int64))

    def topics(self, phrases: Sequence[str]) -> np.ndarray:
        """The daily run's topic vectors (cached by phrase in the store)."""
        return self.daily.topics(phrases)
