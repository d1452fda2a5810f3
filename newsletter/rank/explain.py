"""Why this paper: the matched words of a topic, and where in the paper they occur."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

from newsletter.models import Paper
from newsletter.rank.features import category_text
from newsletter.rank.text import terms, unique_terms, word_units


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
def _topic_parts(topic: str) -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
    return word_units(topic), frozenset(t for t in unique_terms(topic) if " " in t)


def explain_topic(
    topic: str, fields: PaperTerms, forms: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], str]:
    """``(matched words, a one-line reason)`` for one topic and paper: only the words that
    occur, and where. A hyphenated word counts only as a compound ("test-time" needs
    "test time" side by side). When the topic as written matches nothing but one of its
    other ``forms`` (abbreviation <-> long form) does, the reason says so.

    >>> reason: 'matches “test-time adaptation”: test-time, adaptation in title'
    >>> reason: 'matches “PEFT” as “parameter-efficient fine-tuning”: … in abstract'
    """
    matched, reason = _explain(topic, fields)
    if matched:
        return matched, reason
    for form in forms:
        found, detail = _explain(form, fields)
        if found:
            return found, f"matches {_quoted(topic)} as {detail.removeprefix('matches ')}"
    return matched, reason


def _explain(topic: str, fields: PaperTerms) -> tuple[tuple[str, ...], str]:
    words, bigrams = _topic_parts(topic)
    title, abstract, category = fields.title, fields.abstract, fields.category
    in_title: list[str] = []
    in_abstract: list[str] = []
    in_category: list[str] = []
    for word, unit in words:
        if unit in title:
            in_title.append(word)
        elif unit in abstract:
            in_abstract.append(word)
        elif unit in category:
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


def explain_meaning(topic: str, sentence: str, limit: int = 220) -> str:
    """The reason for a paper that matched ``topic`` on meaning (embedding closeness), not
    on its words: the abstract's sentence closest to the topic, quoted (cut at ``limit``
    characters). Plain text: the templates escape it.

    >>> reason: 'close in meaning to “lifelong learning”: “We study continual …”'
    """
    quote = " ".join(sentence.split())
    if len(quote) > limit:
        quote = quote[: limit - 1].rsplit(" ", 1)[0] + "…"
    return f"close in meaning to {_quoted(topic)}: {_quoted(quote)}"


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
