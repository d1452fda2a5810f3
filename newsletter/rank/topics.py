"""Each distinct topic of an edition scored once: its row of scores and its best candidates.

A topic (normalised phrase) gets a permanent integer id. Its dense row of relevance
against every paper, and its top ``M`` candidate papers (by relevance plus popularity
prior, ties to the lower paper index) with the best key left out (``cut``; ``cut_plain``
counts only papers that reach the floor without the category boost), are computed the first time a chunk of
subscribers needs it, in one sparse product for all new topics of the chunk, and kept
in arrays indexed by a *slot*. When the slots would exceed the memory budget, the
cache is emptied between chunks and refilled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from newsletter.rank.features import Corpus

# Below this, a paper cannot reach the floor even with the category boost. The margin
# keeps float32 rounding from dropping a paper that the full computation would keep.
_MARGIN = 1e-6


class TopicCache:
    """Each distinct topic scored against every paper once per edition: relevance rows and
    their best candidates, within ``max_bytes`` of memory (reset when full)."""

    def __init__(
        self,
        corpus: Corpus,
        prior: np.ndarray,
        *,
        floor: float,
        boost: float,
        n_candidates: int,
        max_bytes: int = 256 * 2**20,
        score: Callable[[Sequence[str]], np.ndarray] | None = None,
    ) -> None:
        self.corpus = corpus
        # Phrases -> (phrases, papers) relevance: lexical, or hybrid (``hybrid.HybridScorer``).
        self.score = score or corpus.topic_scores
        self.prior = prior
        self.floor = floor
        self.eligible_from = floor - boost - _MARGIN
        self.n_candidates = n_candidates
        n = corpus.n_papers
        self.max_slots = max(1024, max_bytes // (4 * max(n, 1) + 12 * n_candidates + 4))
        self.ids: dict[str, int] = {}
        self._phrases: list[str] = []
        self._evidence: list[float] = []
        self._slot_of = np.full(0, -1, dtype=np.int64)
        self.rows = np.zeros((0, n), dtype=np.float32)
        self.cand_idx = np.zeros((0, n_candidates), dtype=np.int64)
        self.cand_rel = np.zeros((0, n_candidates), dtype=np.float32)
        self.cut = np.zeros(0, dtype=np.float32)
        self.cut_plain = np.zeros(0, dtype=np.float32)
        self._reserve(1)  # at least one row, so padding can index slot 0
        self.used = 0
        self.scored = 0  # topics scored so far (a topic scored again after a reset counts twice)

    def topic_id(self, key: str) -> int:
        """A small integer for topic ``key`` (stable within the cache)."""
        tid = self.ids.get(key)
        if tid is None:
            tid = self.ids[key] = len(self._phrases)
            self._phrases.append(key)
            self._evidence.append(self.corpus.topic_weight(key))
        return tid

    def evidence(self, tids: np.ndarray) -> np.ndarray:
        """The idf mass of each topic id (0 where the id is -1, padding)."""
        table = np.asarray([*self._evidence, 0.0], dtype=np.float32)
        return np.asarray(table[np.where(tids >= 0, tids, -1)])

    def slots(self, tids: np.ndarray) -> np.ndarray:
        """Slots of the rows of ``tids`` (-1 stays -1), scoring the topics not cached yet."""
        if len(self._slot_of) < len(self._phrases):
            grown = np.full(len(self._phrases), -1, dtype=np.int64)
            grown[: len(self._slot_of)] = self._slot_of
            self._slot_of = grown
        wanted = np.unique(tids[tids >= 0])
        missing = wanted[self._slot_of[wanted] < 0]
        if self.used + len(missing) > self.max_slots:
            self._slot_of[:] = -1
            self.used = 0
            missing = wanted
        if len(missing):
            self._score(missing)
        if not len(self._slot_of):
            return np.full(tids.shape, -1, dtype=np.int64)
        return np.where(tids >= 0, self._slot_of[np.maximum(tids, 0)], -1)

    def _score(self, missing: np.ndarray) -> None:
        start, end = self.used, self.used + len(missing)
        self._reserve(end)
        block = self.score([self._phrases[t] for t in missing.tolist()])
        m = self.n_candidates
        key = np.where(block >= self.eligible_from, block + self.prior, -np.inf)
        # Best first, ties to the lower paper index (a stable sort of the negated key).
        order = np.argsort(-key, axis=1, kind="stable")
        width = min(m, order.shape[1])
        top = order[:, :width]
        eligible = np.isfinite(key).sum(axis=1)
        idx = np.full((len(missing), m), -1, dtype=np.int64)
        rel = np.full((len(missing), m), -np.inf, dtype=np.float32)
        rows = np.arange(len(missing))[:, None]
        inside = np.arange(width)[None, :] < eligible[:, None]
        idx[:, :width] = np.where(inside, top, -1)
        rel[:, :width] = np.where(inside, block[rows, top], -np.inf)
        cut = np.full(len(missing), -np.inf, dtype=np.float32)
        cut_plain = cut.copy()
        if order.shape[1] > m:
            dropped = key[np.arange(len(missing)), order[:, m]]
            cut = np.where(eligible > m, dropped, -np.inf).astype(np.float32)
            # Without the category boost only papers at the floor can be kept.
            at_floor = np.where(block >= self.floor, key, -np.inf)
            cut_plain = at_floor[rows, order[:, m:]].max(axis=1).astype(np.float32)
        self.rows[start:end] = block
        self.cand_idx[start:end] = idx
        self.cand_rel[start:end] = rel
        self.cut[start:end] = cut
        self.cut_plain[start:end] = cut_plain
        self._slot_of[missing] = np.arange(start, end)
        self.used = end
        self.scored += len(missing)

    def _reserve(self, size: int) -> None:
        if size <= len(self.cut):
            return
        capacity = max(size, 2 * len(self.cut), 64)

        def grow(array: np.ndarray, fill: float) -> np.ndarray:
            bigger = np.full((capacity, *array.shape[1:]), fill, dtype=array.dtype)
            bigger[: len(array)] = array
            return bigger

        self.rows = grow(self.rows, 0.0)
        self.cand_idx = grow(self.cand_idx, -1)
        self.cand_rel = grow(self.cand_rel, -np.inf)
        self.cut = grow(self.cut, -np.inf)
        self.cut_plain = grow(self.cut_plain, -np.inf)
