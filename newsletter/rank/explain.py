"""Why this paper: the matched words of a topic, and where in the paper they occur."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from newsletter.models import Paper
from newsletter.rank.features import category_text
from newsletter.rank.text import normalise, stems, terms, unique_terms, word_units


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

    @cached_property
    def title_forms(self) -> dict[str, str]:
        """Each unigram term of the title -> its first form there (lower case)."""
        return _forms(self.paper.title)

    @cached_property
    def abstract_forms(self) -> dict[str, str]:
        """Each unigram term of the abstract -> its first form there (lower case)."""
        return _forms(self.paper.abstract)


def _forms(text: str) -> dict[str, str]:
    """``"model"`` -> ``"models"`` when the text says "models": so a reason names the word
    that occurs, not the topic's form of it."""
    out: dict[str, str] = {}
    for token, term in zip(_TOKENS.findall(normalise(text)), stems(text), strict=True):
        if term is not None:
            out.setdefault(term, token)
    return out


_TOKENS = re.compile(r"[a-z0-9]+")


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
    best = _explain(topic, fields)
    best_form = topic
    for form in forms:
        if form == topic:
            continue
        found = _explain(form, fields)
        if found[2] > best[2]:
            best, best_form = found, form
    matched, reason, _ = best
    if best_form != topic:
        reason = f"matches {_quoted(topic)} as {reason.removeprefix('matches ')}"
    return matched, reason


def _as_written(word: str, unit: str, forms: dict[str, str]) -> str:
    """The topic's ``word`` when the field has it so, else the field's own form of it
    ("model" for the topic word "models"); a compound is named as the topic writes it."""
    if " " in unit:
        return word
    found = forms.get(unit)
    return word if found is None or found == normalise(word) else found


def _explain(topic: str, fields: PaperTerms) -> tuple[tuple[str, ...], str, tuple[float, ...]]:
    """Matched words, the reason, and a rank of the evidence (whole phrase in title, whole
    phrase, share of the form's words matched, words in title) to choose between a topic's
    forms: "TTA" in an abstract loses to "test-time adaptation" in the title."""
    words, bigrams = _topic_parts(topic)
    title, abstract, category = fields.title, fields.abstract, fields.category
    in_title: list[str] = []
    in_abstract: list[str] = []
    in_category: list[str] = []
    shown_title: list[str] = []
    shown_abstract: list[str] = []
    for word, unit in words:
        if unit in title:
            in_title.append(word)
            shown_title.append(_as_written(word, unit, fields.title_forms))
        elif unit in abstract:
            in_abstract.append(word)
            shown_abstract.append(_as_written(word, unit, fields.abstract_forms))
        elif unit in category:
            in_category.append(word)
    parts = []
    if in_title:
        parts.append(f"{', '.join(dict.fromkeys(shown_title))} in title")
    if in_abstract:
        parts.append(f"{', '.join(dict.fromkeys(shown_abstract))} in abstract")
    if in_category:
        parts.append(f"{', '.join(in_category)} in its arXiv category")
    phrase = ""
    if bigrams and bigrams <= title:
        phrase = " (whole phrase in title)"
    elif bigrams and bigrams <= (title | abstract):
        phrase = " (whole phrase)"
    matched = tuple(dict.fromkeys(in_title + in_abstract + in_category))
    detail = f": {'; '.join(parts)}" if parts else ""
    share = len(matched) / max(len(words), 1)
    rank = (int(phrase.endswith("in title)")), int(bool(phrase)), share, len(in_title))
    return matched, f"matches {_quoted(topic)}{phrase}{detail}", rank


_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\*?\{([^{}]*)\}")
_LATEX_MATH = re.compile(r"\$([^$]*)\$")


def _plain(text: str) -> str:
    """``\\textit{Hebbian}`` -> ``Hebbian``, ``$k$`` -> ``k``, spaces collapsed: a quote
    reads as the title does in the email (the renderer's full cleaning lives in render/,
    which rank/ may not import)."""
    text = _LATEX_MATH.sub(r"\1", " ".join(text.split()))
    while _LATEX_COMMAND.search(text):
        text = _LATEX_COMMAND.sub(r"\1", text)
    return text


def explain_meaning(topic: str, sentence: str, limit: int = 220, title: str = "") -> str:
    """The reason for a paper that matched ``topic`` on meaning (embedding closeness), not
    on its words: the passage closest to the topic, quoted (cut at ``limit`` characters,
    LaTeX commands reduced to their text). When that passage is the paper's ``title``
    the reason says so. Plain text: the templates escape it.

    >>> reason: 'close in meaning to “lifelong learning”: “We study continual …”'
    >>> reason: 'close in meaning to “lifelong learning”: its title'
    """
    quote = _plain(sentence)
    if title and quote == _plain(title):
        return f"close in meaning to {_quoted(topic)}: its title"
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
