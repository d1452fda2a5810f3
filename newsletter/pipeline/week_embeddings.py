"""Embeddings for rankings made after the daily run: a week's digest and the web view.

A weekly reader's digest ranks the papers of the edition and the six before it
(``personalize.personalizer``); the web view (``/view/``) ranks an edition again for one
reader. Each edition's passage vectors were stored when it was ranked
(``pipeline.embeddings``, m041), so ``StoredWeek.papers`` reuses them: a paper whose
passages (``rank.semantic.passages``, compared as text) are stored for one of the editions
in the window takes those vectors. Any other (an edition ranked without the semantic extra,
or a paper whose text changed since) is embedded now, in one call, and not stored; or, with
``embed=False`` (the web view: a page never loads the model), ``rank.hybrid.VectorsMissing``
is raised and the caller ranks lexically. Topic vectors come from the daily
``StoredEmbeddings`` when given, else from the store's cache by phrase.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Sequence

import numpy as np

from newsletter.models import Edition, Paper
from newsletter.pipeline.embeddings import StoredEmbeddings
from newsletter.rank.embed import DIMENSIONS, Encoder, load_encoder
from newsletter.rank.hybrid import Embeddings, VectorsMissing
from newsletter.rank.semantic import PaperVectors, passages
from newsletter.store import embeddings as stored
from newsletter.store.db import Store

log = logging.getLogger(__name__)

WEEK = dt.timedelta(days=7)
DAY = dt.timedelta(days=1)


class StoredWeek:
    """``rank.hybrid.Embeddings`` over the editions dated after ``until − window`` up to
    ``until`` (a week: as ``editions.papers_between``; one day: the edition itself)."""

    def __init__(
        self,
        store: Store,
        encoder: Encoder,
        until: dt.date,
        *,
        window: dt.timedelta = WEEK,
        daily: StoredEmbeddings | None = None,
        embed: bool = True,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.until = until
        self.window = window
        self.daily = daily
        self.embed = embed

    def papers(self, papers: Sequence[Paper]) -> PaperVectors:
        """The papers' passage vectors, in order: stored ones reused, the rest embedded now
        (``VectorsMissing`` instead when ``embed`` is off)."""
        known: dict[tuple[str, ...], np.ndarray] = {}
        with self.store.begin() as conn:
            rows = stored.load_papers_between(
                conn, self.encoder.model_id, self.until - self.window, self.until, DIMENSIONS
            )
        for stored_vectors, stored_texts, stored_starts in rows:
            for start, end in itertools.pairwise(stored_starts):
                known.setdefault(tuple(stored_texts[start:end]), stored_vectors[start:end])
        texts: list[str] = []
        starts = [0]
        missing: list[int] = []  # indexes into texts of passages to embed now
        parts: list[np.ndarray | None] = []
        for paper in papers:
            own = passages(paper)
            found = known.get(tuple(own))
            if found is None:
                missing.extend(range(len(texts), len(texts) + len(own)))
            parts.append(found)
            texts.extend(own)
            starts.append(len(texts))
        if missing and not self.embed:
            raise VectorsMissing(f"{len(missing)} passages of {len(papers)} papers not stored")
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for i, found in enumerate(parts):
            if found is not None:
                vectors[starts[i] : starts[i + 1]] = found
        if missing:
            vectors[missing] = self.encoder.encode([texts[i] for i in missing])
        log.info(
            "papers up to %s: %d, %d passages reused, %d embedded",
            self.until,
            len(papers),
            len(texts) - len(missing),
            len(missing),
        )
        return PaperVectors(vectors, tuple(texts), np.asarray(starts, dtype=np.int64))

    def topics(self, phrases: Sequence[str]) -> np.ndarray:
        """The daily run's topic vectors; without it, the store's cache (``VectorsMissing``
        for a phrase not cached when ``embed`` is off, else it is embedded, not stored)."""
        if self.daily is not None:
            return self.daily.topics(phrases)
        with self.store.begin() as conn:
            known = stored.load_topics(conn, self.encoder.model_id, phrases, DIMENSIONS)
        new = [p for p in dict.fromkeys(phrases) if p not in known]
        if new and not self.embed:
            raise VectorsMissing(f"{len(new)} topics not cached")
        if new:
            known.update(zip(new, self.encoder.encode(new), strict=True))
        out = np.zeros((len(phrases), DIMENSIONS), dtype=np.float32)
        for row, phrase in enumerate(phrases):
            out[row] = known[phrase]
        return out


# The web view's embeddings: (edition, weekly reader?) -> stored vectors only.
ViewEmbeddings = Callable[[Edition, bool], Embeddings]


def view_embeddings(store: Store) -> ViewEmbeddings | None:
    """What the web view ranks with: the vectors the daily run stored, for the edition (a
    daily reader) or its week (a weekly one), never the model; ``None`` without the
    semantic extra."""
    encoder = load_encoder()
    if encoder is None:
        return None
    found: Encoder = encoder

    def for_edition(edition: Edition, weekly: bool) -> Embeddings:
        window = WEEK if weekly else DAY
        return StoredWeek(store, found, edition.date, window=window, embed=False)

    return for_edition
