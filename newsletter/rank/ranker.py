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

import gc
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from newsletter.errors import SettingsError
from newsletter.models import Feedback, Paper, Profile, Section
from newsletter.rank.batch import SectionCache, padded
from newsletter.rank.features import Corpus, Weights
from newsletter.rank.forked import cores, map_forked
from newsletter.rank.hybrid import Embeddings, HybridScorer
from newsletter.rank.masks import PaperMasks
from newsletter.rank.model import PRIOR_WEIGHT, FeedbackModel, global_scores, popularity
from newsletter.rank.sections import Assembler, Request, Topic, best_first, written_and_key
from newsletter.rank.select import dense_picks, sparse_picks, to_lists
from newsletter.rank.semantic import Hybrid
from newsletter.rank.topics import TopicCache

log = logging.getLogger(__name__)

CATEGORY_BOOST = np.float32(0.05)
# A forked child's CPU per row over the parent's: it pickles its sections (0.68 s for
# 4.20 s of ranking, 100,000 readers, measured here) and the parent unpickles them.
_CHILD_COST = 1.16
# Elements of the largest per-chunk array (rows x topics x max(topics x M, papers)).
_CHUNK_ELEMENTS = 8_000_000
# Distinct rows from which ``rank_many`` shares the work with forked copies of itself: a
# fork costs about 0.1 s here (the children's caches start from the parent's), so a small
# batch (the send's 50 readers) stays in one process.
FORK_FROM = 20_000


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while ranking.

    Ranking creates millions of small acyclic objects (tuples, items, sections); each
    full collection would walk all of them (about 15% of the time for 100,000
    subscribers). Nothing made here forms a cycle, so reference counting frees it all.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Ranker:
    """One edition's papers, ranked for many subscribers at once (see the module docstring).

    ``embeddings`` (``hybrid.Embeddings``) turns on hybrid relevance (``semantic.Hybrid``);
    without it ranking is lexical. ``workers`` (default: the cores this process may use,
    ``forked.cores``) processes share a ``rank_many`` of at least ``fork_from`` distinct
    rows (``forked.map_forked``); the results are the same as in one process. Raises
    ``SettingsError`` for a bad ``max_per_topic``, ``also_today`` or ``floor`` (relevance
    in [0, 1))."""

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
        embeddings: Embeddings | None = None,
        hybrid: Hybrid | None = None,
        workers: int | None = None,
        fork_from: int = FORK_FROM,
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
        self.corpus = Corpus(self.papers, weights, below=0.999 * floor)
        self.prior = (PRIOR_WEIGHT * popularity(self.papers)).astype(np.float32)
        self.global_score = global_scores(self.papers, self.corpus)
        self.feedback_model = FeedbackModel(self.corpus, self.papers)
        self.assembler = Assembler(self.papers, self.global_score, max_per_topic, also_today)
        self.assembler.forms = self.corpus.forms
        # Hybrid relevance when vectors are at hand (the semantic extra), else lexical.
        self.hybrid = (
            HybridScorer(self.corpus, self.papers, embeddings, hybrid) if embeddings else None
        )
        if self.hybrid is not None:
            self.assembler.by_meaning = self.hybrid.by_meaning
        self.fast_path = fast_path
        self.n_candidates = max(1, candidates or 4 * max_per_topic + 16)
        self.topics = TopicCache(
            self.corpus,
            self.prior,
            floor=floor,
            boost=float(CATEGORY_BOOST),
            n_candidates=self.n_candidates,
            score=self.hybrid.scores if self.hybrid else None,
        )
        self.bulk = SectionCache(self.assembler)
        self.masks = PaperMasks(self.corpus, self.assembler)
        self._parsed: dict[str, Topic | None] = {}
        self.workers = max(1, workers if workers is not None else cores())
        self.fork_from = fork_from
        self.stats = dict.fromkeys(("rows", "distinct", "dense", "feedback", "bulk"), 0)
        log.debug("ranker: %d papers, %d terms", len(self.papers), len(self.corpus.vocab))

    # Public interface -------------------------------------------------------------

    def rank(self, profile: Profile, feedback: Sequence[Feedback] = ()) -> tuple[Section, ...]:
        """The sections for one ``profile`` (``rank_many`` with one row)."""
        return self.rank_many([profile], [feedback])[0]

    def rank_many(
        self,
        profiles: Sequence[Profile],
        feedback: Sequence[Sequence[Feedback]] | None = None,
    ) -> list[tuple[Section, ...]]:
        """The sections of each profile, in order: one section per topic (best first, at most
        ``max_per_topic`` papers above the floor, each paper once per email), then category
        and author sections and "also today". ``feedback[i]`` (+1/-1 signals) adjusts row
        ``i`` (Rocchio); raises ``ValueError`` when the lengths differ."""
        if feedback is not None and len(feedback) != len(profiles):
            raise ValueError(
                f"rank_many: {len(profiles)} profiles but {len(feedback)} feedback lists"
            )
        with _collector_paused():
            start = time.process_time()
            requests, order = self._requests(profiles, feedback)
            results: list[tuple[Section, ...]] = [()] * len(requests)
            parsed = time.process_time()
            parts = self._parts(requests, list(self._chunks(requests)))
            log.debug(
                "rank_many: %.2f s CPU to parse %d rows, %.2f s to score their topics first",
                parsed - start,
                len(requests),
                time.process_time() - parsed,
            )
            done = map_forked(lambda part: self._rank_part(requests, part), parts)
            for n, (part, (ranked, stats)) in enumerate(zip(parts, done, strict=True)):
                for chunk, sections_of in zip(part, ranked, strict=True):
                    for i, sections in zip(chunk, sections_of, strict=True):
                        results[i] = sections
                if n > 0:  # a child's counts stayed in the child
                    for key, value in stats.items():
                        self.stats[key] += value
        self.stats["rows"] += len(profiles)
        self.stats["distinct"] += len(requests)
        log.debug("ranked %d profiles (%d distinct)", len(profiles), len(requests))
        return [results[i] for i in order]

    # Sharing the work between processes ------------------------------------------------

    def _parts(self, requests: Sequence[Request], chunks: list[list[int]]) -> list[list[list[int]]]:
        """The chunks dealt to ``self.workers`` processes (one part each, the parent's
        first), or all in one part when the batch is small or its topics do not all fit
        in the topic cache. Before a fork every topic is scored here, chunk by chunk as
        one process would (the same calls, so the same float sums), and no child scores
        (or embeds) a topic again."""
        n = min(self.workers, len(chunks))
        if n <= 1 or len(requests) < self.fork_from:
            return [chunks]
        tids = np.unique(np.fromiter((t.tid for r in requests for t in r.topics), np.int64))
        if self.topics.used + len(tids) > self.topics.max_slots:
            return [chunks]
        for chunk in chunks:
            self.topics.slots(padded([[t.tid for t in requests[i].topics] for i in chunk]))
        parts: list[list[list[int]]] = [[] for _ in range(n)]
        load = [0.0] * n
        for chunk in chunks:  # in width order: each part gets wide and narrow rows
            least = min(range(n), key=lambda k: (load[k], k))
            parts[least].append(chunk)
            # A child also pickles what it made (about 16% more, measured here).
            cost = len(chunk) * max(1, len(requests[chunk[-1]].topics))
            load[least] += cost * (1.0 if least == 0 else _CHILD_COST)
        return parts

    def _rank_part(
        self, requests: Sequence[Request], part: list[list[int]]
    ) -> tuple[list[list[tuple[Section, ...]]], dict[str, int]]:
        """Each chunk's sections, and what ranking them added to ``stats``."""
        before = dict(self.stats)
        start = time.process_time()
        ranked = [self._rank_chunk([requests[i] for i in chunk]) for chunk in part]
        log.debug("rank_many: %d chunks in %.2f s CPU", len(part), time.process_time() - start)
        return ranked, {k: v - before[k] for k, v in self.stats.items()}

    # Vectorised core ----------------------------------------------------------------

    def _requests(
        self, profiles: Sequence[Profile], feedback: Sequence[Sequence[Feedback]] | None
    ) -> tuple[list[Request], list[int]]:
        """The distinct (profile, feedback) requests, and each profile's request."""
        slot: dict[object, int] = {}
        if feedback is None:
            order = [slot.setdefault(p, len(slot)) for p in profiles]
        else:
            order = [
                slot.setdefault((p, tuple(f)) if f else p, len(slot))
                for p, f in zip(profiles, feedback, strict=True)
            ]
        pairs = [k if isinstance(k, tuple) else (k, ()) for k in slot]
        parsed = self._parsed
        new = [self._topic(raw) for raw in {t for p, _ in pairs for t in p.topics} - parsed.keys()]
        if self.hybrid is not None:
            # Every new phrase embedded in one call (which an ``Embeddings`` remembers): a
            # call of many is shared among forked processes (``embed.Encoder``), and no
            # chunk, nor any forked ranker, embeds a phrase of its own.
            keys = sorted({t.key for t in new if t is not None})
            if keys:
                self.hybrid.embeddings.topics(keys)
        requests = [Request.build(p, f, [parsed[t] for t in p.topics]) for p, f in pairs]
        return requests, order

    def _topic(self, raw: str) -> Topic | None:
        try:
            return self._parsed[raw]
        except KeyError:
            written, key = written_and_key(raw)
            found = self._parsed[raw] = (
                Topic(written, key, self.topics.topic_id(key), self.bulk.written_id(written))
                if written
                else None
            )
            return found

    def _chunks(self, requests: Sequence[Request]) -> Iterator[list[int]]:
        """Request indices in chunks of similar topic counts, sized to the memory budget."""
        by_width = sorted(range(len(requests)), key=lambda i: len(requests[i].topics))
        start = 0
        while start < len(by_width):
            end = min(start + self.chunk_size, len(by_width))
            width = max(1, len(requests[by_width[end - 1]].topics))
            per_row = width * max(width * self.n_candidates, self.corpus.n_papers, 1)
            end = min(end, start + max(1, _CHUNK_ELEMENTS // per_row))
            yield by_width[start:end]
            start = end

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

    def _heads(
        self, requests: Sequence[Request], shifts: dict[int, np.ndarray]
    ) -> dict[int, list[int]]:
        """The head of each feedback row's own global order (all rows in one sort)."""
        if not shifts:
            return {}
        rows = list(shifts)
        depth = max(self.assembler.walk_depth(requests[b]) for b in rows)
        score = self.global_score + np.stack([shifts[b] for b in rows])
        return dict(zip(rows, best_first(score, depth), strict=True))

    def _rank_chunk(self, requests: Sequence[Request]) -> list[tuple[Section, ...]]:
        tids = padded([[t.tid for t in r.topics] for r in requests])
        width = tids.shape[1]
        slots = self.topics.slots(tids)
        present = slots >= 0
        evidence = self.topics.evidence(tids)
        in_category, removed = self.masks.build(requests)
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
        if not self.fast_path:
            return [
                self.assembler.sections(
                    request,
                    to_lists(papers[b, : len(request.topics)], keys[b, : len(request.topics)]),
                    shifts.get(b),
                )
                for b, request in enumerate(requests)
            ]
        heads = self._heads(requests, shifts)
        topic_sections = self.bulk.topic_sections(requests, papers, keys)
        plain = [b for b, r in enumerate(requests) if r.plain]
        out: list[tuple[Section, ...] | None] = [None] * len(requests)
        if plain:
            rows = np.asarray(plain)
            also = self.bulk.also_today(papers[rows], removed[rows])
            for b, extra in zip(plain, also, strict=True):
                mine = topic_sections[b]
                out[b] = (*mine, extra) if extra is not None else tuple(mine)
            self.stats["bulk"] += len(plain)
        return [
            sections
            if sections is not None
            else self.assembler.sections(
                request,
                to_lists(papers[b, : len(request.topics)], keys[b, : len(request.topics)]),
                shifts.get(b),
                topic_sections[b],
                heads.get(b),
            )
            for b, (request, sections) in enumerate(zip(requests, out, strict=True))
        ]
