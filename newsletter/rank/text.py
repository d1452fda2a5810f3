"""Text to terms: tokens, light stemming (plurals only), stopwords, bigrams.

A *term* is a stemmed unigram (``"model"`` for "models") or two adjacent stemmed tokens
joined by a space (``"time adaptation"``). Bigrams never bridge a stopword, so a bigram match
means the two words stood next to each other: that is the phrase match.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

_TOKEN = re.compile(r"[a-z0-9]+")

STOPWORDS = frozenset(
    (
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "via",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    )
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """``word`` (lower-case) without its plural ending: Harman's S-stemmer (Harman 1991,
    "How effective is suffixing?", JASIS 42(1)), cached. Only the first rule that fits:
    "-ies" -> "-y" (not "-eies", "-aies"); "-es" -> "-e" (not "-aes", "-ees", "-oes");
    "-s" -> "" (not "-us", "-ss"); words of 3 letters or fewer are kept ("gas", "bus").
    ``"networks"`` -> ``"network"``, ``"continues"`` -> ``"continue"`` (never "continu":
    unlike Porter/Snowball it does not join "continual", "continuous" and "continues";
    issue 16 item 4, chosen with ``bench/rank_eval.py``)."""
    if len(word) <= 3 or word[-1] != "s" or word.isdigit():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith(("us", "ss")):
        return word
    return word[:-1]


def normalise(text: str) -> str:
    """Lower-case, fold accents (``Schrödinger`` -> ``schrodinger``), NFKC."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", folded).lower()


def _keep(token: str) -> bool:
    return token not in STOPWORDS and (len(token) > 1 or token.isdigit())


def stems(text: str) -> list[str | None]:
    """Stemmed tokens in order; ``None`` marks a dropped stopword (a phrase break)."""
    return [stem(tok) if _keep(tok) else None for tok in _TOKEN.findall(normalise(text))]


def terms(text: str) -> list[str]:
    """Every unigram and bigram term of ``text``, with repeats (for term frequencies)."""
    seq = stems(text)
    out = [s for s in seq if s is not None]
    out.extend(f"{a} {b}" for a, b in itertools.pairwise(seq) if a and b)
    return out


@lru_cache(maxsize=100_000)
def unique_terms(text: str) -> tuple[str, ...]:
    """The distinct terms of ``text`` in first-seen order (for queries; cached)."""
    return tuple(dict.fromkeys(terms(text)))


@lru_cache(maxsize=100_000)
def word_units(phrase: str) -> tuple[tuple[str, str], ...]:
    """Each word of a topic as written, with the one term it must match.

    A plain word needs its stem; a hyphenated compound needs its parts side by side
    (their bigram), so ``"test-time"`` is ``"test time"`` and not "test … time".
    ``"test-time adaptation"`` -> ``(("test-time", "test time"), ("adaptation", "adapt"))``.
    A compound of more than two parts needs its first two (enough to be a compound).
    """
    out: list[tuple[str, str]] = []
    for word, word_stems in surface_words(phrase):
        out.append((word, " ".join(word_stems[:2])))
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=100_000)
def query_terms(phrase: str) -> tuple[str, ...]:
    """The terms a topic is scored on: ``unique_terms`` without the single parts of a
    hyphenated compound (the compound's bigram stands for them)."""
    parts = {
        s for _, word_stems in surface_words(phrase) if len(word_stems) > 1 for s in word_stems
    }
    singles = {u for _, u in word_units(phrase) if " " not in u}
    return tuple(t for t in unique_terms(phrase) if t not in parts or t in singles)


@lru_cache(maxsize=100_000)
def surface_words(phrase: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The words of a topic as written, each with the stems it stands for.

    ``"test-time adaptation"`` -> ``[("test-time", ("test", "time")), ("adaptation", ("adapt",))]``;
    words that are only stopwords or punctuation are left out.
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    for word in phrase.split():
        word_stems = tuple(s for s in stems(word) if s is not None)
        cleaned = word.strip(".,;:!?\"'()[]{}“”‘’")
        if word_stems and cleaned:
            out.append((cleaned, word_stems))
    return tuple(out)


def author_key(name: str) -> str:
    """A name compared without case, accents, dots or extra spaces."""
    return " ".join(_TOKEN.findall(normalise(name)))
