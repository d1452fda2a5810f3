"""Assembling one subscriber's sections from the chunk's vectorised picks.

Order of sections: followed authors, then one per topic (in the order the subscriber
wrote them), then one per followed arXiv category, then "Also today". A paper appears
once per email: a followed author's paper goes to the authors section; otherwise a
paper goes to the topic it matches best (if it clears the floor and makes that topic's
top ``max_per_topic``), else to a followed category, else it may be in "Also today".
Excluded papers appear nowhere. A profile with no topics, categories or authors gets
one "Top papers today" section. Result objects are immutable and shared between
subscribers whenever they are equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from newsletter.models import Feedback, Paper, Profile, RankedItem, Section
from newsletter.rank.explain import (
    PaperTerms,
    explain_authors,
    explain_category,
    explain_meaning,
    explain_popular,
    explain_topic,
)
from newsletter.rank.suggest import Vocabulary, english_words
from newsletter.rank.taxonomy import category_title
from newsletter.rank.text import author_key, normalise

ALSO_TODAY = "Also today"
TOP_TODAY = "Top papers today"
AUTHORS = "Followed authors"


@lru_cache(maxsize=200_000)
def topic_key(topic: str) -> str:
    """A topic's matching key: normalised, white space collapsed (cached)."""
    return " ".join(normalise(topic).split())


@lru_cache(maxsize=200_000)
def written_and_key(topic: str) -> tuple[str, str]:
    """The topic as written (spaces collapsed) and its key (normalised, for matching)."""
    written = " ".join(topic.split())
    return written, topic_key(written)


class Topic(NamedTuple):
    """One topic of a request: as written, its key, and the Ranker's ids for both."""

    written: str
    key: str
    tid: int
    wid: int


@dataclass(slots=True)
class Request:
    """One distinct (profile, feedback) to rank, with its parts normalised once."""

    profile: Profile
    feedback: tuple[Feedback, ...]
    topics: list[Topic]
    exclude_keys: list[str]
    author_keys: tuple[str, ...]
    excluded: frozenset[int] = frozenset()
    authored: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def plain(self) -> bool:
        """Topics only (no feedback, authors or categories): assembled in bulk."""
        return bool(
            self.topics
            and not self.feedback
            and not self.author_keys
            and not self.profile.categories
        )

    @classmethod
    def build(
        cls, profile: Profile, feedback: tuple[Feedback, ...], topics: list[Topic | None]
    ) -> Request:
        """``topics``: each of ``profile.topics`` parsed (None if blank)."""
        if None in topics:
            topics = [t for t in topics if t is not None]
        if len(topics) > 1 and len({t.key for t in topics if t}) < len(topics):
            first: dict[str, Topic | None] = {}
            for t in topics:
                if t:
                    first.setdefault(t.key, t)
            topics = list(first.values())
        excluded = profile.exclude
        authors = profile.authors
        return cls(
            profile,
            feedback,
            [t for t in topics if t],
            [k for k in dict.fromkeys(map(topic_key, excluded)) if k] if excluded else [],
            tuple(k for k in dict.fromkeys(map(author_key, authors)) if k) if authors else (),
        )


def best_first(score: np.ndarray, n: int) -> list[list[int]]:
    """Per row of ``score`` ``(R, P)``: the first ``n`` of ``argsort(-row, kind="stable")``
    (best first, ties to the lower index), without sorting whole rows."""
    n_rows, n_cols = score.shape
    n = max(0, min(n, n_cols))
    if n == 0:
        return [[] for _ in range(n_rows)]
    nth = np.partition(score, n_cols - n, axis=1)[:, n_cols - n]
    rows, cols = np.nonzero(score >= nth[:, None])
    order = np.lexsort((cols, -score[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(n_rows))
    flat = cols.tolist()
    return [flat[start : start + n] for start in starts.tolist()]


class Assembler:
    """Builds the sections of one email from the picks of the ranking, with the reasons
    shown to the reader."""

    def __init__(
        self,
        papers: Sequence[Paper],
        global_score: np.ndarray,
        max_per_topic: int,
        also_today: int,
    ) -> None:
        self.papers = papers
        self.global_score = global_score
        self.max_per_topic = max_per_topic
        self.also_today = also_today
        self.global_order: list[int] = np.argsort(-global_score, kind="stable").tolist()
        self._global_list: list[float] = global_score.tolist()
        self.by_category: dict[str, list[int]] = {}
        self.by_author: dict[str, list[tuple[int, str]]] = {}
        for p in self.global_order:
            for code in dict.fromkeys(papers[p].categories):
                self.by_category.setdefault(code, []).append(p)
            for name in papers[p].authors:
                self.by_author.setdefault(author_key(name), []).append((p, name))
        self._terms: dict[int, PaperTerms] = {}
        self._vocabulary: Vocabulary | None = None
        self._notes: dict[str, str] = {}
        self.forms: Callable[[str], tuple[str, ...]] | None = None  # set by the Ranker
        # (topic key, paper) -> the sentence quoted for a match on meaning (hybrid only).
        self.by_meaning: Callable[[str, int], str | None] | None = None
        self._explained: dict[tuple[str, int], tuple[tuple[str, ...], str]] = {}
        self._items: dict[tuple[object, ...], RankedItem] = {}
        self._authored: dict[tuple[str, ...], dict[int, tuple[str, ...]]] = {}

    def authored(self, keys: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
        """Paper index -> the followed authors' names as the paper writes them."""
        found = self._authored.get(keys)
        if found is None:
            merged: dict[int, list[str]] = {}
            for key in keys:
                for p, name in self.by_author.get(key, []):
                    merged.setdefault(p, []).append(name)
            found = self._authored[keys] = {p: tuple(n) for p, n in merged.items()}
        return found

    def _item(self, cache_key: str, p: int, score: float, make: object) -> RankedItem:
        score = round(score, 4)
        item = self._items.get((cache_key, p, score))
        if item is None:
            matched, reason = make() if callable(make) else ((), str(make))
            item = RankedItem(self.papers[p], score, None, matched, reason)
            self._items[(cache_key, p, score)] = item
        return item

    def vocabulary(self) -> Vocabulary:
        """The "did you mean" vocabulary of today's papers (``suggest.Vocabulary``), built on
        first use with the English word list it consults (about 0.3 s of CPU and 15 MB).
        A send calls it before forking its helpers so that they share it (issue 18)."""
        if self._vocabulary is None:
            self._vocabulary = Vocabulary.from_papers(self.papers)
            english_words()
        return self._vocabulary

    def empty_note(self, written: str) -> str:
        """ "Nothing on X today.", with "did you mean Y?" when a topic word is a likely typo
        of a word of today's papers (``suggest.Vocabulary``)."""
        note = self._notes.get(written)
        if note is None:
            hint = self.vocabulary().suggest(written)
            note = f"Nothing on {written} today." + (f" Did you mean “{hint}”?" if hint else "")
            self._notes[written] = note
        return note

    def topic_item(self, written: str, p: int, value: float, keep: bool = True) -> RankedItem:
        """``keep=False``: a one-off score (feedback), not worth remembering the item."""
        cache = (written, p, value)
        item = self._items.get(cache) if keep else None
        if item is None:
            found = self._explained.get((written, p))
            if found is None:
                terms = self._terms.get(p) or self._terms.setdefault(p, PaperTerms(self.papers[p]))
                forms = self.forms(topic_key(written))[1:] if self.forms else ()
                found = explain_topic(written, terms, forms)
                quote = self.by_meaning(topic_key(written), p) if self.by_meaning else None
                if quote is not None:
                    found = (found[0], explain_meaning(written, quote, title=self.papers[p].title))
                self._explained[(written, p)] = found
            item = RankedItem(self.papers[p], round(value, 4), written, found[0], found[1])
            if keep:
                self._items[cache] = item
        return item

    def _walk(self, candidates: Iterable[int], skip: set[int], limit: int) -> list[int]:
        chosen: list[int] = []
        if limit <= 0:
            return chosen
        for p in candidates:
            if p not in skip:
                chosen.append(p)
                skip.add(p)
                if len(chosen) >= limit:
                    break
        return chosen

    def walk_depth(self, request: Request) -> int:
        """How far down the global order the walks of ``sections`` can go."""
        shown = len(request.topics) + len(request.profile.categories) + 1
        return len(request.excluded) + shown * self.max_per_topic + self.also_today

    def sections(
        self,
        request: Request,
        picks: list[list[tuple[int, float]]],
        shift: np.ndarray | None,
        built: Sequence[Section] | None = None,
        head: list[int] | None = None,
    ) -> tuple[Section, ...]:
        """``built``: the topic sections, if already made from the same ``picks``;
        ``head``: with ``shift``, the first ``walk_depth`` papers of the shifted order."""
        score = self.global_score if shift is None else self.global_score + shift
        skip = set(request.excluded)
        profile = request.profile
        if shift is None:
            order: Sequence[int] = self.global_order
        else:
            order = (
                head if head is not None else best_first(score[None], self.walk_depth(request))[0]
            )
        if profile.is_empty:
            top = self._walk(order, skip, self.max_per_topic + self.also_today)
            items = self.popular_items(top, None if shift is None else score)
            return (Section(TOP_TODAY, items, None, "" if items else "No papers today."),)

        out: list[Section] = []
        if request.author_keys:
            mine = sorted(request.authored, key=lambda p: (-score[p], p))
            chosen = self._walk(mine, skip, self.max_per_topic)
            items = tuple(
                RankedItem(
                    self.papers[p],
                    round(float(score[p]), 4),
                    None,
                    request.authored[p],
                    explain_authors(list(request.authored[p])),
                )
                for p in chosen
            )
            out.append(
                Section(
                    AUTHORS,
                    items,
                    None,
                    "" if items else "Nothing from your followed authors today.",
                )
            )
        else:
            chosen = []
        for (written, *_), topic_picks in zip(request.topics, picks, strict=True):
            skip.update(p for p, _ in topic_picks)
            if built is None:
                items = tuple([self.topic_item(written, p, v) for p, v in topic_picks])
                note = "" if items else self.empty_note(written)
                out.append(Section(written, items, written, note))
        if built is not None:
            out.extend(built)
        for code in dict.fromkeys(profile.categories):
            title = category_title(code)
            members = self.by_category.get(code, [])
            if shift is not None:
                members = sorted(members, key=lambda p: -float(score[p]))
            chosen = self._walk(members, skip, self.max_per_topic)
            reason = explain_category(title)
            items = tuple(self._item(f"cat:{code}", p, float(score[p]), reason) for p in chosen)
            out.append(Section(title, items, None, "" if items else f"Nothing in {title} today."))
        extra = self._walk(order, skip, self.also_today)
        if extra:
            out.append(
                Section(ALSO_TODAY, tuple(self._popular_item(p, float(score[p])) for p in extra))
            )
        return tuple(out)

    def _popular_item(self, p: int, score: float) -> RankedItem:
        return self._item("popular", p, score, explain_popular(self.papers[p]))

    def popular_items(self, chosen: list[int], score: np.ndarray | None) -> tuple[RankedItem, ...]:
        """``RankedItem``s for the popular papers ``chosen`` (by the given ``score`` or the
        global one)."""
        if score is None:
            return tuple([self._popular_item(p, self._global_list[p]) for p in chosen])
        return tuple([self._popular_item(p, float(score[p])) for p in chosen])
