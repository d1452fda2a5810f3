"""Hybrid relevance for the Ranker: lexical BM25F plus embedding closeness.

``Embeddings`` is the seam: where paper and topic vectors come from. ``EncoderEmbeddings``
computes them in memory; the pipeline's store-backed one (``pipeline.embeddings``) keeps
the edition's paper vectors with the edition and caches topic vectors by phrase.
``HybridScorer.scores`` replaces ``Corpus.topic_scores`` in the ``TopicCache`` and
remembers, per topic, which papers passed on meaning alone and the topic's vector, so the
explanation can say so and quote the closest sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from newsletter.models import Paper
from newsletter.rank.embed import Encoder
from newsletter.rank.features import Corpus
from newsletter.rank.semantic import Hybrid, PaperVectors


class VectorsMissing(LookupError):
    """Raised by an ``Embeddings`` that only reads stored vectors (the web view) when the
    papers' or a topic's vectors are not stored: the caller ranks lexically instead."""


class Embeddings(Protocol):
    """Where vectors come from: ``papers`` -> their ``PaperVectors`` (in the given order),
    ``topics`` -> ``(len(phrases), d)`` unit rows."""

    def papers(self, papers: Sequence[Paper]) -> PaperVectors: ...

    def topics(self, phrases: Sequence[str]) -> np.ndarray: ...


class EncoderEmbeddings:
    """Vectors straight from an ``Encoder``, nothing stored (tests, benchmarks, previews)."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def papers(self, papers: Sequence[Paper]) -> PaperVectors:
        """Every paper's passages, embedded now."""
        return PaperVectors.build(papers, self.encoder.encode)

    def topics(self, phrases: Sequence[str]) -> np.ndarray:
        """The phrases, embedded now."""
        return self.encoder.encode(phrases)


class HybridScorer:
    """Topic relevance of one edition, lexical + semantic (``Hybrid.combine``)."""

    def __init__(
        self,
        corpus: Corpus,
        papers: Sequence[Paper],
        embeddings: Embeddings,
        hybrid: Hybrid | None = None,
    ) -> None:
        self.corpus = corpus
        self.embeddings = embeddings
        self.hybrid = hybrid or Hybrid()
        self.vectors = embeddings.papers(papers)
        if self.vectors.n_papers != corpus.n_papers:
            raise ValueError(
                f"embeddings: {self.vectors.n_papers} papers' vectors for {corpus.n_papers} papers"
            )
        self._topic_vectors: dict[str, np.ndarray] = {}
        self._by_meaning: dict[str, np.ndarray] = {}

    def scores(self, phrases: Sequence[str]) -> np.ndarray:
        """Dense ``(len(phrases), n_papers)`` float32 relevance in ``[0, 1)``."""
        _, raw, covered = self.corpus.lexical(phrases)
        new = [p for p in dict.fromkeys(phrases) if p not in self._topic_vectors]
        if new:
            for phrase, vector in zip(new, self.embeddings.topics(new), strict=True):
                self._topic_vectors[phrase] = np.asarray(vector, dtype=np.float32)
        topics = np.stack([self._topic_vectors[p] for p in phrases]) if phrases else None
        if topics is None:
            return np.zeros((0, self.corpus.n_papers), dtype=np.float32)
        closeness = self.vectors.closeness(topics, self.hybrid.mix)
        by_meaning = (closeness >= self.hybrid.gate) & ~covered
        for phrase, row in zip(phrases, by_meaning, strict=True):
            self._by_meaning[phrase] = row
        return self.hybrid.combine(raw, covered, closeness, below=self.corpus.below)

    def by_meaning(self, phrase: str, paper: int) -> str | None:
        """The sentence quoted for ``paper`` when it matched ``phrase`` (a scored topic key)
        on meaning rather than words, else ``None``."""
        row = self._by_meaning.get(phrase)
        if row is None or not row[paper]:
            return None
        return self.vectors.closest_passage(self._topic_vectors[phrase], paper)
