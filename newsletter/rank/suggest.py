"""Typos in topics: the close word of the corpus vocabulary, suggested when a topic is saved.

Pure: a vocabulary in (the words of some papers' titles and abstracts, with counts), a
suggestion out. A topic word is a typo only when *no* vocabulary knows it: not the papers,
not the field's abbreviations (``acronyms.COMMON``) nor those the papers define, and not
a general English word list (pyspellchecker's English frequency list, 160,000 words,
MIT; read as data, ``english_words``). A word absent from the day's papers is not a typo
("federated" is never "generated"; issue 16, outside re-test). Such a word, of at least
4 letters, is replaced by the most frequent paper word within Levenshtein distance 1
(words of up to 7 letters) or 2 (longer words), found with rapidfuzz.
``"contiual learning"`` -> ``"continual learning"``. Hyphenated compounds are checked
part by part.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from newsletter.models import Paper
from newsletter.rank.acronyms import COMMON
from newsletter.rank.definitions import mine  # acronyms.mine's answer, fast
from newsletter.rank.text import normalise

_WORD = re.compile(r"[a-z][a-z0-9]*")
_PART = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_MIN_LENGTH = 4


def _max_distance(word: str) -> int:
    return 1 if len(word) <= 7 else 2


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The words of pyspellchecker's English frequency list (lower-case; loaded once,
    about 0.15 s CPU), or an empty set when the package is not installed: then only the
    papers and abbreviations count as known, as before."""
    try:
        data = resources.files("spellchecker").joinpath("resources/en.json.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return frozenset()
    return frozenset(json.loads(gzip.decompress(data)))


def _abbreviation_words(texts: Iterable[str]) -> frozenset[str]:
    """The short forms and the words of the long forms of the built-in abbreviations and
    of those ``texts`` define (lower-case)."""
    pairs = {**COMMON, **mine(texts)}
    words = {normalise(short) for short in pairs}
    for long_form in pairs.values():
        words.update(_WORD.findall(normalise(long_form)))
    return frozenset(words)


@dataclass(frozen=True)
class Vocabulary:
    """Word counts of a corpus (lower-cased, accents folded), and the words known besides
    (abbreviations, English): a known word is never corrected."""

    counts: Counter[str]
    known: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocabulary:
        """The vocabulary of ``texts``, knowing also English words and abbreviations."""
        texts = list(texts)
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(_WORD.findall(normalise(text)))
        return cls(counts, _abbreviation_words(texts))

    @classmethod
    def from_papers(cls, papers: Iterable[Paper]) -> Vocabulary:
        """The vocabulary of the papers' titles and abstracts."""
        return cls.from_texts(f"{p.title} {p.abstract}" for p in papers)

    def correct(self, word: str) -> str | None:
        """The vocabulary word closest to ``word`` (lower-case), or None when ``word`` is
        known, short, or has no word within the allowed distance. Ties: the more frequent."""
        if (
            word in self.counts
            or len(word) < _MIN_LENGTH
            or not word.isalpha()
            or word in self.known
            or word in english_words()
        ):
            return None
        limit = _max_distance(word)
        found = process.extract(
            word, self.counts.keys(), scorer=Levenshtein.distance, score_cutoff=limit, limit=20
        )
        if not found:
            return None
        best = min(found, key=lambda hit: (hit[1], -self.counts[hit[0]], hit[0]))
        return str(best[0])

    def suggest(self, topic: str) -> str | None:
        """``topic`` with each unknown word replaced by its correction, keeping the rest as
        written; None when nothing changes (every word known or no close word)."""
        changed = False

        def fix(match: re.Match[str]) -> str:
            nonlocal changed
            original = match.group(0)
            better = self.correct(normalise(original))
            if better is None:
                return original
            changed = True
            return better.upper() if original.isupper() else better

        suggestion = _PART.sub(fix, topic)
        return suggestion if changed else None


def did_you_mean(papers: Iterable[Paper], topics: Iterable[str]) -> list[str]:
    """One sentence per topic that looks like a typo of the papers' words, for whoever saves
    topics (CLI, web form, reply command): ``Did you mean “continual learning” for
    “contiual learning”?``. Empty when no paper is given or every topic is fine."""
    topics = [t for t in topics if t.strip()]
    if not topics:
        return []
    vocabulary = Vocabulary.from_papers(papers)
    if not vocabulary.counts:
        return []
    return [
        f"Did you mean “{hint}” for “{topic}”?"
        for topic in topics
        if (hint := vocabulary.suggest(topic))
    ]
