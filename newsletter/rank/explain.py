"""Why this paper: the matched words of a topic, and where in the paper they occur."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

from newsletter.models import Paper
from newsletter.rank.features import category_text
from newsletter.rank.text import surface_words, terms, unique_terms


@dataclass(frozen=True)
class PaperTerms:
    """The sets of terms in each field of one paper (built on first explanation)."""

    paper: Paper

    @cached_property
    def title(self) -> frozenset[str]:
        """The paper's title terms."""
        return frozenset(terms(self.paper.title))

    @cached_property
    def abstract(self) -> frozenset[str]:
        """The paper's abstract terms."""
        return frozenset(terms(self.paper.abstract))

    @cached_property
    def category(self) -> frozenset[str]:
        """The terms of the paper's category names."""
        return frozenset(terms(category_text(self.paper)))


def _quoted(text: str) -> str:
    return f"“{text}”"


@lru_cache(maxsize=100_000)
def _topic_parts(topic: str) -> tuple[tuple[tuple[str, frozenset[str]], ...], frozenset[str]]:
    words = tuple((word, frozenset(word_stems)) for word, word_stems in surface_words(topic))
    return words, frozenset(t for t in unique_terms(topic) if " " in t)


def explain_topic(topic: str, fields: PaperTerms) -> tuple[tuple[str, ...], str]:
    """``(matched words of the topic, a one-line reason)`` for one topic and paper.

    >>> reason: 'matches “test-time adaptation”: test-time, adaptation in title; TTA in abstract'
    """
    words, bigrams = _topic_parts(topic)
    title, abstract, category = fields.title, fields.abstract, fields.category
    in_title: list[str] = []
    in_abstract: list[str] = []
    in_category: list[str] = []
    for word, word_stems in words:
        if word_stems <= title:
            in_title.append(word)
        elif word_stems <= abstract:
            in_abstract.append(word)
        elif word_stems <= category:
            in_category.append(word)
    parts = []
    if in_title:
        parts.append(f"{', '.join(in_title)} in title")
    if in_abstract:
        parts.append(f"{', '.join(in_abstract)} in abstract")
    if in_category:
        parts.append(f"{', '.join(in_category)} in its arXiv category")
    phrase = ""
    if bigrams and bigrams <= title:
        phrase = " (whole phrase in title)"
    elif bigrams and bigrams <= (title | abstract):
        phrase = " (whole phrase)"
    matched = tuple(dict.fromkeys(in_title + in_abstract + in_category))
    detail = f": {'; '.join(parts)}" if parts else ""
    return matched, f"matches {_quoted(topic)}{phrase}{detail}"


def explain_popular(paper: Paper) -> str:
    """The reason shown for a popular paper (its Hugging Face upvotes when it has some)."""
    if paper.upvotes:
        return f"popular today ({paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''})"
    return "among today's top papers"


def explain_category(title: str) -> str:
    """The reason shown for a paper that matched by category ``title``."""
    return f"in {title}"


def explain_authors(names: list[str]) -> str:
    """The reason shown for a paper that matched by author ``names``."""
    return f"by {', '.join(names)}, whom you follow"
