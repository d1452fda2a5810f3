"""``definitions.mine`` (the fast scan) gives ``acronyms.mine``'s answer, match for match.

The reference is the regex scan itself: ``acronyms._DEFINITION.finditer``. Real abstracts
(the seed page, recombined as the speed bench does) and random texts dense in
parentheses, short forms and white space, where the start of each match is decided by
the rules the fast scan re-derives (the scan position, the previous parenthesis, the
200-character limit of the leading group).
"""

from __future__ import annotations

import random

import pytest

from newsletter.rank import acronyms, definitions
from tests.rank.test_lexical import SEED, _seed
from tests.support.needs import need

PIECES = [
    "(",
    ")",
    " (",
    "( ",
    ";",
    ",",
    " ",
    "  ",
    "\n",
    "\u00a0",
    "LLM",
    "PEFT",
    "LoRAs",
    "x",
    "ab",
    "A1",
    "the model",
    "parameter-efficient fine-tuning",
    "a-b",
    "-",
    "é",
]


def _reference(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in acronyms._DEFINITION.finditer(text)]


def test_the_same_matches_as_the_regex_on_real_abstracts() -> None:
    need(SEED.exists(), f"the shared seed page is missing: {SEED}")
    texts = [f"{p.title}. {p.abstract}" for p in _seed()]
    found = [list(definitions._matches(t)) for t in texts]
    assert found == [_reference(t) for t in texts]
    assert sum(map(len, found)) > 20  # the page defines abbreviations: this compared some
    assert definitions.mine(texts) == acronyms.mine(texts)


@pytest.mark.parametrize("seed", range(4))
def test_the_same_matches_as_the_regex_on_random_texts(seed: int) -> None:
    rng = random.Random(seed)
    texts = []
    for _ in range(1500):
        parts = rng.choices(PIECES, k=rng.randrange(1, 40))
        if rng.random() < 0.2:  # leading groups near and over 200 characters
            parts.insert(rng.randrange(len(parts) + 1), "w" * rng.randrange(150, 260))
        texts.append("".join(parts))
    matched = 0
    for text in texts:
        expected = _reference(text)
        assert list(definitions._matches(text)) == expected, text
        matched += len(expected)
    assert matched > 100
    assert definitions.mine(texts) == acronyms.mine(texts)
