"""The Ranker: one edition's papers, ranked for many subscribers at once.

Built once per edition (term space, BM25F weights, global order). ``rank_many`` ranks
each distinct (profile, feedback) once, in chunks of rows with similar topic counts.
Each distinct topic is scored against every paper once (``TopicCache``); the floor,
exclusions, the once-per-email rule and the top-k of every section are numpy
operations over the whole chunk (``select``): the fast path looks at each topic's best
candidates only, and a row it cannot decide exactly (or with feedback) is redone on all
papers. Plain rows (topics only) are assembled in bulk, every distinct section built
once (``batch``); the others by ``Assembler.sections``. ``fast_path=False`` runs the
full computation for every row: the reference the fast path is tested against.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import numpy as np

from newsletter.errors import SettingsError
from newsletter.models import Feedback, Paper, Profile, Section
from newsletter.rank.batch import SectionCache
from newsletter.rank.features import Corpus, Weights
from newsletter.rank.model import PRIOR_WEIGHT, FeedbackModel, global_scores, popularity
from newsletter.rank.sections import Assembler, Request
from newsletter.rank.select import dense_picks, sparse_picks, to_lists
from newsletter.rank.topics import TopicCache

log = logging.getLogger(__name__)

CATEGORY_BOOST = np.float32(0.05)
# Elements of the largest per-chunk array (rows x topics x max(topics x M, papers)).
_CHUNK_ELEMENTS = 8_000_000


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
        fast_path: bool = True,
        candidates: int | None = None,
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
        self.fast_path = fast_path
        self.n_candidates = max(1, candidates or 4 * max_per_topic + 16)
        self.topics = TopicCache(
            self.corpus,
            self.prior,
            floor=floor,
            boost=float(CATEGORY_BOOST),
            n_candidates=self.n_candidates,
        )
        self.bulk = SectionCache(self.assembler)
        self._exclusions: dict[str, list[int]] = {}
        self.stats = dict.fromkeys(("rows", "distinct", "dense", "feedback", "bulk"), 0)
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
        requests, order = self._requests(profiles, feedback)
        results: list[tuple[Section, ...]] = [()] * len(requests)
        for chunk in self._chunks(requests):
            ranked = self._rank_chunk([requests[i] for i in chunk])
            for i, sections in zip(chunk, ranked, strict=True):
                results[i] = sections
        self.stats["rows"] += len(profiles)
        self.stats["distinct"] += len(requests)
        log.debug("ranked %d profiles (%d distinct)", len(profiles), len(requests))
        return [results[i] for i in order]

    # Vectorised core ----------------------------------------------------------------

    def _requests(
        self, profiles: Sequence[Profile], feedback: Sequence[Sequence[Feedback]] | None
    ) -> tuple[list[Request], list[int]]:
        """The distinct (profile, feedback) requests, and each profile's request."""
        requests: list[Request] = []
        slot: dict[object, int] = {}
        order: list[int] = []
        for i, profile in enumerate(profiles):
            signals = tuple(feedback[i]) if feedback is not None else ()
            key: object = (profile, signals) if signals else profile
            at = slot.get(key)
            if at is None:
                at = slot[key] = len(requests)
                request = Request.build(profile, signals)
                request.tids = [self.topics.topic_id(key) for _, key in request.topics]
                request.wids = [self.bulk.written_id(written) for written, _ in request.topics]
                requests.append(request)
            order.append(at)
        return requests, order

    def _chunks(self, requests: Sequence[Request]) -> Iterator[list[int]]:
        """Request indices in chunks of similar topic counts, sized to the memory budget."""
        by_width = sorted(range(len(requests)), key=lambda i: len(requests[i].tids))
        start = 0
        while start < len(by_width):
            end = min(start + self.chunk_size, len(by_width))
            width = max(1, len(requests[by_width[end - 1]].tids))
            per_row = width * max(width * self.n_candidates, self.corpus.n_papers, 1)
            end = min(end, start + max(1, _CHUNK_ELEMENTS // per_row))
            yield by_width[start:end]
            start = end

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

    def _redo(
        self,
        requests: Sequence[Request],
        rows: np.ndarray,
        slots: np.ndarray,
        evidence: np.ndarray,
        masks: tuple[np.ndarray, np.ndarray],
        papers: np.ndarray,
        keys: np.ndarray,
    ) -> dict[int, np.ndarray]:
        """Rank ``rows`` on every paper (in place); return the feedback rows' Rocchio shifts."""
        if not len(rows):
            return {}
        chosen = rows.tolist()
        shift = np.zeros((len(chosen), self.corpus.n_papers), dtype=np.float32)
        liked = [i for i, b in enumerate(chosen) if requests[b].feedback]
        if liked:
            signals = [requests[chosen[i]].feedback for i in liked]
            shift[liked] = self.feedback_model.adjustments(signals)
        relevance = self.topics.rows[np.maximum(slots[rows], 0)]
        papers[rows], keys[rows] = dense_picks(
            relevance,
            slots[rows] >= 0,
            evidence[rows],
            masks[0][rows],
            masks[1][rows],
            shift,
            self.prior,
            floor=self.floor,
            boost=CATEGORY_BOOST,
            k=self.max_per_topic,
        )
        return {chosen[i]: shift[i] for i in liked}

    def _rank_chunk(self, requests: Sequence[Request]) -> list[tuple[Section, ...]]:
        width = max(1, max(len(r.tids) for r in requests))
        tids = np.array([(r.tids + [-1] * width)[:width] for r in requests], dtype=np.int64)
        slots = self.topics.slots(tids)
        present = slots >= 0
        evidence = self.topics.evidence(tids)
        in_category, removed = self._paper_masks(requests)
        if self.fast_path:
            cache, at = self.topics, np.maximum(slots, 0)
            papers, keys, redo = sparse_picks(
                np.where(present[..., None], cache.cand_idx[at], -1),
                np.where(present[..., None], cache.cand_rel[at], -np.inf),
                np.where(present, cache.cut[at], -np.inf),
                np.where(present, cache.cut_plain[at], -np.inf),
                cache.rows,
                slots,
                evidence,
                in_category,
                removed,
                self.prior,
                floor=self.floor,
                boost=CATEGORY_BOOST,
                k=self.max_per_topic,
            )
            self.stats["dense"] += int(redo.sum())
        else:
            shape = (len(requests), width, self.max_per_topic)
            papers = np.full(shape, -1, dtype=np.int64)
            keys = np.full(shape, -np.inf, dtype=np.float32)
            redo = np.ones(len(requests), dtype=bool)
        with_feedback = np.array([bool(r.feedback) for r in requests])
        self.stats["feedback"] += int(with_feedback.sum())
        shifts = self._redo(
            requests,
            np.flatnonzero(redo | with_feedback),
            slots,
            evidence,
            (in_category, removed),
            papers,
            keys,
        )
        out: list[tuple[Section, ...] | None] = [None] * len(requests)
        plain = [b for b, r in enumerate(requests) if r.plain] if self.fast_path else []
        if plain:
            rows = np.asarray(plain)
            chosen = [requests[b] for b in plain]
            bulk = self.bulk.assemble(chosen, papers[rows], keys[rows], removed[rows])
            for b, sections in zip(plain, bulk, strict=True):
                out[b] = sections
            self.stats["bulk"] += len(plain)
        return [
            sections
            if sections is not None
            else self.assembler.sections(
                request,
                to_lists(papers[b, : len(request.tids)], keys[b, : len(request.tids)]),
                shifts.get(b),
            )
            for b, (request, sections) in enumerate(zip(requests, out, strict=True))
        ]
