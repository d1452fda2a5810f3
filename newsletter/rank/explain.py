"""Why this paper: the matched words of a topic, and where in the paper they occur."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from newsletter.models import Paper
from newsletter.rank.features import category_text
from newsletter.rank.text import surface_words, terms, unique_terms


@dataclass(frozen=True)
class PaperTerms:
    """The sets of terms in each field of one paper (built on first explanation)."""

    paper: Paper

    @cached_property
    def title(self) -> frozenset[str]:
        return frozenset(terms(self.paper.title))

    @cached_property
    def abstract(self) -> frozenset[str]:
        return frozenset(terms(self.paper.abstract))

    @cached_property
    def category(self) -> frozenset[str]:
        return frozenset(terms(category_text(self.paper)))


def _quoted(text: str) -> str:
    return f"“{text}”"


def explain_topic(topic: str, fields: PaperTerms) -> tuple[tuple[str, ...], str]:
    """``(matched words of the topic, a one-line reason)`` for one topic and paper.

    >>> reason: 'matches “test-time adaptation”: test-time, adaptation in title; TTA in abstract'
    """
    words = surface_words(topic)
    in_title = [w for w, s in words if all(x in fields.title for x in s)]
    in_abstract = [
        w for w, s in words if w not in in_title and all(x in fields.abstract for x in s)
    ]
    in_category = [
        w
        for w, s in words
        if w not in in_title and w not in in_abstract and all(x in fields.category for x in s)
    ]
    parts = []
    if in_title:
        parts.append(f"{', '.join(in_title)} in title")
    if in_abstract:
        parts.append(f"{', '.join(in_abstract)} in abstract")
    if in_category:
        parts.append(f"{', '.join(in_category)} in its arXiv category")
    bigrams = [t for t in unique_terms(topic) if " " in t]
    phrase = ""
    if bigrams and all(b in fields.title for b in bigrams):
        phrase = " (whole phrase in title)"
    elif bigrams and all(b in fields.title or b in fields.abstract for b in bigrams):
        phrase = " (whole phrase)"
    matched = tuple(dict.fromkeys(in_title + in_abstract + in_category))
    detail = f": {'; '.join(parts)}" if parts else ""
    return matched, f"matches {_quoted(topic)}{phrase}{detail}"


def explain_popular(paper: Paper) -> str:
    if paper.upvotes:
        return f"popular today ({paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''})"
    return "among today's top papers"


def explain_category(title: str) -> str:
    return f"in {title}"


def explain_authors(names: list[str]) -> str:
    return f"by {', '.join(names)}, whom you follow"
