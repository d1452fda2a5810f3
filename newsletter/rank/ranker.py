"""The Ranker: one edition's papers, ranked for many subscribers at once.

Built once per edition (term space, BM25F weights, global order). ``rank_many`` handles
subscribers in chunks: each chunk's topic scores come from one sparse product (query
matrix x paper matrix, each distinct topic once), and the floor, exclusions, the
once-per-email rule and the top-k of every section are numpy operations over the whole
chunk. Only the assembly of the (shared, immutable) result objects is Python per
subscriber. Identical profiles without feedback are ranked once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from newsletter.errors import SettingsError
from newsletter.models import Feedback, Paper, Profile, Section
from newsletter.rank.features import Corpus, Weights
from newsletter.rank.model import PRIOR_WEIGHT, FeedbackModel, global_scores, popularity
from newsletter.rank.sections import Assembler, Request

log = logging.getLogger(__name__)

CATEGORY_BOOST = 0.05
_TOPIC_CACHE_LIMIT = 50_000


class Ranker:
    def __init__(
        self,
        papers: Sequence[Paper],
        *,
        max_per_topic: int = 5,
        also_today: int = 5,
        floor: float = 0.15,
        weights: Weights | None = None,
        chunk_size: int = 4096,
    ) -> None:
        if max_per_topic < 1:
            raise SettingsError(
                "NEWSLETTER_MAX_PER_TOPIC", f"must be at least 1, got {max_per_topic}"
            )
        if also_today < 0:
            raise SettingsError("NEWSLETTER_ALSO_TODAY", f"must be 0 or more, got {also_today}")
        if not 0 <= floor < 1:
            raise SettingsError("NEWSLETTER_RELEVANCE_FLOOR", f"must be in [0, 1), got {floor}")
        unique: dict[str, Paper] = {}
        for paper in papers:
            seen = unique.get(paper.arxiv_id)
            unique[paper.arxiv_id] = seen.merge(paper) if seen else paper
        self.papers: tuple[Paper, ...] = tuple(unique.values())
        self.max_per_topic = max_per_topic
        self.also_today = also_today
        self.floor = floor
        self.chunk_size = max(1, chunk_size)
        self.corpus = Corpus(self.papers, weights)
        self.prior = (PRIOR_WEIGHT * popularity(self.papers)).astype(np.float32)
        self.global_score = global_scores(self.papers, self.corpus)
        self.feedback_model = FeedbackModel(self.corpus)
        self.assembler = Assembler(self.papers, self.global_score, max_per_topic, also_today)
        self._topics: dict[str, int] = {}
        self._phrases: list[str] = []
        self._evidence: list[float] = []
        self._topic_rows: dict[int, np.ndarray] = {}
        self._exclusions: dict[str, list[int]] = {}
        log.debug("ranker: %d papers, %d terms", len(self.papers), len(self.corpus.vocab))

    # Public interface -------------------------------------------------------------

    def rank(self, profile: Profile, feedback: Sequence[Feedback] = ()) -> tuple[Section, ...]:
        return self.rank_many([profile], [feedback])[0]

    def rank_many(
        self,
        profiles: Sequence[Profile],
        feedback: Sequence[Sequence[Feedback]] | None = None,
    ) -> list[tuple[Section, ...]]:
        if feedback is not None and len(feedback) != len(profiles):
            raise ValueError(
                f"rank_many: {len(profiles)} profiles but {len(feedback)} feedback lists"
            )
        requests: list[Request] = []
        slot: dict[object, int] = {}
        order: list[int] = []
        for i, profile in enumerate(profiles):
            signals = tuple(feedback[i]) if feedback is not None else ()
            key: object = (profile, signals) if signals else profile
            if key not in slot:
                slot[key] = len(requests)
                requests.append(Request.build(profile, signals))
            order.append(slot[key])
        results: list[tuple[Section, ...]] = []
        for start in range(0, len(requests), self.chunk_size):
            results.extend(self._rank_chunk(requests[start : start + self.chunk_size]))
        log.debug("ranked %d profiles (%d distinct)", len(profiles), len(requests))
        return [results[i] for i in order]

    # Vectorised core ----------------------------------------------------------------

    def _topic_id(self, key: str) -> int:
        tid = self._topics.get(key)
        if tid is None:
            tid = self._topics[key] = len(self._phrases)
            self._phrases.append(key)
            self._evidence.append(self.corpus.topic_weight(key))
        return tid

    def _scores_for(self, tids: np.ndarray) -> np.ndarray:
        missing = [int(t) for t in tids if int(t) not in self._topic_rows]
        if len(self._topic_rows) + len(missing) > _TOPIC_CACHE_LIMIT:
            self._topic_rows.clear()
            missing = [int(t) for t in tids]
        if missing:
            block = self.corpus.topic_scores([self._phrases[t] for t in missing])
            for row, tid in enumerate(missing):
                self._topic_rows[tid] = block[row]
        n = self.corpus.n_papers
        if not len(tids):
            return np.zeros((0, n), dtype=np.float32)
        return np.stack([self._topic_rows[int(t)] for t in tids])

    def _excluded_papers(self, phrase: str) -> list[int]:
        found = self._exclusions.get(phrase)
        if found is None:
            found = self._exclusions[phrase] = self.corpus.has_phrase([phrase]).indices.tolist()
        return found

    def _paper_masks(self, requests: Sequence[Request]) -> tuple[np.ndarray, np.ndarray]:
        """``(in a followed category, excluded or by a followed author)``, each ``(B, P)``."""
        n = self.corpus.n_papers
        in_category = np.zeros((len(requests), n), dtype=bool)
        removed = np.zeros((len(requests), n), dtype=bool)
        for b, request in enumerate(requests):
            for code in request.profile.categories:
                in_category[b, self.assembler.by_category.get(code, [])] = True
            blocked = [p for phrase in request.exclude_keys for p in self._excluded_papers(phrase)]
            request.excluded = frozenset(blocked)
            request.authored = self.assembler.authored(request.author_keys)
            removed[b, blocked] = True
            removed[b, list(request.authored)] = True
        return in_category, removed

    def _rank_chunk(self, requests: Sequence[Request]) -> list[tuple[Section, ...]]:
        n = self.corpus.n_papers
        width = max(1, max(len(r.topics) for r in requests))
        tids = np.full((len(requests), width), -1, dtype=np.int64)
        for b, request in enumerate(requests):
            for t, (_, key) in enumerate(request.topics):
                tids[b, t] = self._topic_id(key)
        present = tids >= 0
        unique = np.unique(tids[present])
        scores = self._scores_for(unique)
        if unique.size:
            positions = np.searchsorted(unique, np.where(present, tids, unique[0]))
            relevance = scores[positions]
        else:
            relevance = np.zeros((len(requests), width, n), dtype=np.float32)

        in_category, removed = self._paper_masks(requests)
        matched = relevance > 0
        relevance = relevance + CATEGORY_BOOST * (matched & in_category[:, None, :])
        adjust = np.zeros((len(requests), n), dtype=np.float32)
        with_feedback = [b for b, r in enumerate(requests) if r.feedback]
        if with_feedback:
            adjust[with_feedback] = self.feedback_model.adjustments(
                [requests[b].feedback for b in with_feedback]
            )
            relevance = relevance + adjust[:, None, :] * matched

        keep = (relevance >= self.floor) & present[:, :, None] & ~removed[:, None, :]
        ranked = np.where(keep, relevance + self.prior, -np.inf).astype(np.float32)
        if n:
            # The best-matching topic is the one with the most matched evidence (idf mass),
            # so a paper matching "test-time adaptation" in full goes there, not to "adaptation".
            evidence = np.asarray([*self._evidence, 0.0], dtype=np.float32)[np.maximum(tids, 0)]
            best = np.where(keep, relevance * evidence[:, :, None], -np.inf).argmax(axis=1)
            ranked = np.where(np.arange(width)[None, :, None] == best[:, None, :], ranked, -np.inf)
        k = min(self.max_per_topic, n)
        if k < n:
            top = np.argpartition(-ranked, k - 1, axis=2)[:, :, :k]
        else:
            top = np.broadcast_to(np.arange(n), ranked.shape).copy()
        values = np.take_along_axis(ranked, top, axis=2)
        order = np.lexsort((top, -values), axis=-1)
        top = np.take_along_axis(top, order, axis=2)
        values = np.take_along_axis(values, order, axis=2)

        top_list = top.tolist()
        value_list = values.tolist()
        out: list[tuple[Section, ...]] = []
        for b, request in enumerate(requests):
            picks = [
                [
                    (p, v)
                    for p, v in zip(top_list[b][t], value_list[b][t], strict=True)
                    if v > -np.inf
                ]
                for t in range(len(request.topics))
            ]
            shifted = adjust[b] if request.feedback else None
            out.append(self.assembler.sections(request, picks, shifted))
        return out
