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
from newsletter.rank.select import dense_picks, sparse_picks

log = logging.getLogger(__name__)

CATEGORY_BOOST = np.float32(0.05)
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
        self.feedback_model = FeedbackModel(self.corpus, self.papers)
        self.assembler = Assembler(self.papers, self.global_score, max_per_topic, also_today)
        self._topics: dict[str, int] = {}
        self._phrases: list[str] = []
        self._evidence: list[float] = []
        self._topic_rows: dict[int, np.ndarray] = {}
        self._candidates: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
        self.n_candidates = 4 * max_per_topic + 16
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

    def _ensure_topics(self, tids: np.ndarray) -> None:
        """Score each new topic against every paper once, and keep its top candidates."""
        missing = [int(t) for t in tids if int(t) not in self._topic_rows]
        if len(self._topic_rows) + len(missing) > _TOPIC_CACHE_LIMIT:
            self._topic_rows.clear()
            self._candidates.clear()
            missing = [int(t) for t in tids]
        if not missing:
            return
        block = self.corpus.topic_scores([self._phrases[t] for t in missing])
        m = self.n_candidates
        n = self.corpus.n_papers
        key = np.where(block >= self.floor - CATEGORY_BOOST, block + self.prior, -np.inf)
        # Best first, ties to the lower paper index (a stable sort of the negated key).
        order = np.argsort(-key, axis=1, kind="stable")
        for row, tid in enumerate(missing):
            self._topic_rows[tid] = block[row]
            ranked = order[row]
            idx = np.full(m, -1, dtype=np.int64)
            rel = np.full(m, -np.inf, dtype=np.float32)
            eligible = int(np.isfinite(key[row]).sum())
            take = min(m, eligible)
            idx[:take] = ranked[:take]
            rel[:take] = block[row, ranked[:take]]
            cut = float(key[row, ranked[m]]) if eligible > m and n > m else -np.inf
            self._candidates[tid] = (idx, rel, cut)

    def _scores_for(self, tids: np.ndarray) -> np.ndarray:
        self._ensure_topics(tids)
        if not len(tids):
            return np.zeros((0, self.corpus.n_papers), dtype=np.float32)
        return np.stack([self._topic_rows[int(t)] for t in tids])

    def _excluded_papers(self, phrase: str) -> list[int]:
        found = self._exclusions.get(phrase)
        if found is None:
            found = self._exclusions[phrase] = self.corpus.has_phrase([phrase]).indices.tolist()
        return found

    def _paper_masks(self, requests: Sequence[Request]) -> tuple[np.ndarray, np.ndarray]:
        """``(in a followed category, excluded or by a followed author)``, each ``(B, P)``."""
        n = self.corpus.n_papers
        cat_rows: list[int] = []
        cat_cols: list[int] = []
        gone_rows: list[int] = []
        gone_cols: list[int] = []
        for b, request in enumerate(requests):
            profile = request.profile
            for code in profile.categories:
                members = self.assembler.by_category.get(code, ())
                cat_rows.extend([b] * len(members))
                cat_cols.extend(members)
            if request.exclude_keys:
                blocked = {p for x in request.exclude_keys for p in self._excluded_papers(x)}
                request.excluded = frozenset(blocked)
                gone_rows.extend([b] * len(blocked))
                gone_cols.extend(blocked)
            if request.author_keys:
                request.authored = self.assembler.authored(request.author_keys)
                gone_rows.extend([b] * len(request.authored))
                gone_cols.extend(request.authored)
        in_category = np.zeros((len(requests), n), dtype=bool)
        in_category[cat_rows, cat_cols] = True
        removed = np.zeros((len(requests), n), dtype=bool)
        removed[gone_rows, gone_cols] = True
        return in_category, removed

    def _rank_chunk(self, requests: Sequence[Request]) -> list[tuple[Section, ...]]:
        width = max(1, max(len(r.topics) for r in requests))
        tids = np.full((len(requests), width), -1, dtype=np.int64)
        for b, request in enumerate(requests):
            for t, (_, key) in enumerate(request.topics):
                tids[b, t] = self._topic_id(key)
        present = tids >= 0
        self._ensure_topics(np.unique(tids[present]))
        evidence = np.asarray([*self._evidence, 0.0], dtype=np.float32)[np.where(present, tids, -1)]
        in_category, removed = self._paper_masks(requests)

        m = self.n_candidates
        pad = (np.full(m, -1, dtype=np.int64), np.full(m, -np.inf, dtype=np.float32), -np.inf)
        table = [self._candidates[int(t)] if t >= 0 else pad for t in tids.ravel()]
        shape = (len(requests), width, m)
        cand_idx = np.stack([c[0] for c in table]).reshape(shape)
        cand_rel = np.stack([c[1] for c in table]).reshape(shape)
        cut = np.array([c[2] for c in table], dtype=np.float32).reshape(shape[:2])
        picks, unsafe = sparse_picks(
            cand_idx,
            cand_rel,
            cut,
            evidence,
            in_category,
            removed,
            self.prior,
            floor=self.floor,
            boost=CATEGORY_BOOST,
            k=self.max_per_topic,
        )
        redo = [b for b, r in enumerate(requests) if r.feedback or unsafe[b]]
        adjust: dict[int, np.ndarray] = {}
        if redo:
            rows = np.asarray(redo)
            shift = np.zeros((len(redo), self.corpus.n_papers), dtype=np.float32)
            with_feedback = [i for i, b in enumerate(redo) if requests[b].feedback]
            if with_feedback:
                shift[with_feedback] = self.feedback_model.adjustments(
                    [requests[redo[i]].feedback for i in with_feedback]
                )
            sub_tids = tids[rows]
            relevance = self._scores_for(np.maximum(sub_tids, 0).ravel()).reshape(
                len(redo), width, -1
            )
            exact = dense_picks(
                relevance,
                present[rows],
                evidence[rows],
                in_category[rows],
                removed[rows],
                shift,
                self.prior,
                floor=self.floor,
                boost=CATEGORY_BOOST,
                k=self.max_per_topic,
            )
            for i, b in enumerate(redo):
                picks[b] = exact[i]
                if requests[b].feedback:
                    adjust[b] = shift[i]
        return [
            self.assembler.sections(request, picks[b][: len(request.topics)], adjust.get(b))
            for b, request in enumerate(requests)
        ]
