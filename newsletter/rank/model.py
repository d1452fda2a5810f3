"""Scores beyond the topic match: popularity prior, global order, feedback (Rocchio).

- ``popularity``: ``log1p(upvotes) / log1p(max upvotes)`` in ``[0, 1]`` (0 without upvotes).
- The popularity *prior* added to a topic score is ``PRIOR_WEIGHT * popularity``, at most
  0.03 on the ``[0, 1)`` relevance scale: it orders papers of near-equal relevance and can
  never overturn a relevance difference larger than 0.03.
- ``global_scores``: the order of "Also today" and "Top papers today": popularity first,
  then centrality (cosine to the edition's mean vector) as a small tie-breaker, which is
  the whole order when no paper has upvotes (arXiv-only editions).
- Feedback: Rocchio over the unit TF-IDF vectors. For one subscriber,
  ``adjust = LIKE_WEIGHT * cos(paper, mean of liked) - DISLIKE_WEIGHT * cos(paper, mean of
  disliked)``. It is added to that subscriber's topic scores (only where the topic matches
  at all) and to their global order, so neighbours of liked papers move up, neighbours of
  disliked ones move down (and below the floor), for that subscriber only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from newsletter.models import Feedback, Paper
from newsletter.rank.features import Corpus

PRIOR_WEIGHT = 0.03
CENTRALITY_WEIGHT = 0.01
LIKE_WEIGHT = 0.4
DISLIKE_WEIGHT = 0.4


def popularity(papers: Sequence[Paper]) -> np.ndarray:
    """Each paper's popularity in [0, 1]: log(1 + upvotes) over the edition's highest."""
    votes = np.array([max(p.upvotes or 0, 0) for p in papers], dtype=np.float64)
    top = np.log1p(votes.max()) if votes.size else 0.0
    if top <= 0:
        return np.zeros(len(papers))
    return np.asarray(np.log1p(votes) / top)


def centrality(corpus: Corpus) -> np.ndarray:
    """Each paper's cosine to the edition's mean vector, over the highest (0 when none)."""
    if corpus.n_papers == 0:
        return np.zeros(0)
    mean = np.asarray(corpus.unit.mean(axis=0)).ravel()
    cos = np.asarray(corpus.unit @ mean).ravel()
    top = cos.max()
    return np.asarray(cos / top) if top > 0 else np.zeros(corpus.n_papers)


def global_scores(papers: Sequence[Paper], corpus: Corpus) -> np.ndarray:
    """The global order's score: popularity + ``CENTRALITY_WEIGHT`` x centrality."""
    return np.asarray(popularity(papers) + CENTRALITY_WEIGHT * centrality(corpus))


class FeedbackModel:
    """Rocchio adjustments for subscribers, with feedback papers vectorised once each."""

    def __init__(self, corpus: Corpus, papers: Sequence[Paper]) -> None:
        self.corpus = corpus
        # A paper of the edition itself already has its row (the edition's text wins);
        # others are vectorised on first sight and appended below the edition's rows.
        self._index = {p.arxiv_id: i for i, p in enumerate(papers)}
        self._matrix: sp.csr_matrix = corpus.unit

    def _columns(self, papers: Sequence[Paper]) -> list[int]:
        """Each paper's row in ``self._matrix`` (vectorising papers not seen before)."""
        missing = {p.arxiv_id: p for p in papers if p.arxiv_id not in self._index}
        if missing:
            start = self._matrix.shape[0]
            added = self.corpus.vectorise(list(missing.values()))
            self._matrix = sp.csr_matrix(sp.vstack([self._matrix, added]))
            for i, arxiv_id in enumerate(missing):
                self._index[arxiv_id] = start + i
        return [self._index[p.arxiv_id] for p in papers]

    def adjustments(self, feedback: Sequence[Sequence[Feedback]]) -> np.ndarray:
        """``(len(feedback), n_papers)``: the Rocchio shift of each paper for each subscriber."""
        centroid_rows: list[int] = []
        liked: list[Paper] = []
        liked_weights: list[float] = []
        for row, signals in enumerate(feedback):
            latest: dict[str, Feedback] = {}
            for item in sorted(signals, key=lambda f: f.created_at):
                latest[item.paper.arxiv_id] = item
            ups = [f.paper for f in latest.values() if f.signal > 0]
            downs = [f.paper for f in latest.values() if f.signal < 0]
            for group, weight in ((ups, LIKE_WEIGHT), (downs, -DISLIKE_WEIGHT)):
                for paper in group:
                    centroid_rows.append(row)
                    liked.append(paper)
                    liked_weights.append(weight / len(group))
        columns = self._columns(liked)
        mixer = sp.csr_matrix(
            (liked_weights, (centroid_rows, columns)),
            shape=(len(feedback), self._matrix.shape[0]),
        )
        centroids = mixer @ self._matrix
        return np.asarray((centroids @ self.corpus.unit.T).toarray(), dtype=np.float32)
