"""Abbreviation definitions found fast: ``acronyms.mine``'s answer without its slow scan.

``acronyms.mine`` scans each text with ``_DEFINITION``, whose leading lazy group of up to
200 characters is retried at every start position: about 1.5 s of CPU for 500 abstracts
(measured here), most of a Ranker's build. A definition can only end at a ``(`` whose
short form follows (``_SHORT``, rare), and its leading group cannot cross a parenthesis,
so ``mine`` looks only there and works out where ``_DEFINITION``'s scan would have
started the match: the same matches, in the same order, so the same definitions
(``tests/rank/test_definitions.py`` compares the two on real abstracts and on random
texts dense in parentheses and white space).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

from newsletter.rank.acronyms import _DEFINITION, _long_form

# ``_DEFINITION`` from its ``(`` on: the short form and its closing ``;``, ``,`` or ``)``.
_SHORT = re.compile(_DEFINITION.pattern[_DEFINITION.pattern.index(r"\(") :])
_LEAD = 200  # the longest leading group of ``_DEFINITION``
_PAREN = re.compile(r"[()]")


def _matches(text: str) -> Iterator[tuple[str, str]]:
    """``(group 1, group 2)`` of each match of ``_DEFINITION.finditer(text)``, in order.

    A match starting at ``s`` takes the first parenthesis after ``s`` (its group 1 holds
    none), which must be a ``(`` at ``q`` where ``_SHORT`` matches; group 1 is the
    shortest ``text[s:e]`` (1 to 200 characters) with only white space in ``text[e:q]``.
    So the earliest start for that ``q`` is the largest of: the scan position, just after
    the previous parenthesis, and 200 before the white space that precedes ``q``."""
    pos = 0
    segment = 0  # just after the last parenthesis before q
    for paren in _PAREN.finditer(text):
        q = paren.start()
        short = _SHORT.match(text, q) if paren.group() == "(" else None
        if short is not None and q >= pos:
            white = q
            while white > 0 and text[white - 1].isspace():
                white -= 1
            start = max(pos, segment, white - _LEAD)
            if start <= q - 1:
                end = max(start + 1, white)
                yield text[start:end], short.group(1)
                pos = short.end()
        segment = q + 1


def mine(texts: Iterable[str]) -> dict[str, str]:
    """``acronyms.mine(texts)``: ``{short form: long form (lower-case)}``, the most
    frequent definition of each short form."""
    seen: dict[str, Counter[str]] = {}
    for text in texts:
        if "(" not in text:
            continue
        for before, short in _matches(text):
            if short.islower() or not any(ch.isalpha() for ch in short):
                continue
            words = before.split()
            limit = min(len(short) + 5, 2 * len(short))
            found = _long_form(short, " ".join(words[-limit:]))
            if found is None:
                continue
            if short.endswith("s") and short[:-1].isupper():
                short = short[:-1]
            seen.setdefault(short, Counter())[found.lower()] += 1
    return {short: counts.most_common(1)[0][0] for short, counts in seen.items()}
