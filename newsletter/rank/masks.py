"""Per-row paper masks of a chunk: in a followed category; excluded or by a followed author.

Built from cached index arrays (one per distinct exclusion list or category list), so
a chunk's masks cost one scatter each, not one Python step per excluded paper.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from newsletter.rank.features import Corpus
from newsletter.rank.sections import Assembler, Request


class PaperMasks:
    """Boolean masks over the edition's papers (by category, by author), built once for
    exclusions and category or author interests."""

    def __init__(self, corpus: Corpus, assembler: Assembler) -> None:
        self.corpus = corpus
        self.assembler = assembler
        self._phrases: dict[str, list[int]] = {}
        self._sets: dict[tuple[str, tuple[str, ...]], tuple[frozenset[int], np.ndarray]] = {}

    def _with_phrase(self, phrase: str) -> list[int]:
        found = self._phrases.get(phrase)
        if found is None:
            found = self._phrases[phrase] = self.corpus.has_phrase([phrase]).indices.tolist()
        return found

    def _papers(self, kind: str, keys: tuple[str, ...]) -> tuple[frozenset[int], np.ndarray]:
        """Papers excluded by (``kind="exclude"``) or in one of (``"category"``) ``keys``."""
        found = self._sets.get((kind, keys))
        if found is None:
            if kind == "exclude":
                members = {p for x in keys for p in self._with_phrase(x)}
            else:
                members = {p for code in keys for p in self.assembler.by_category.get(code, ())}
            array = np.fromiter(sorted(members), dtype=np.int64, count=len(members))
            found = self._sets[(kind, keys)] = (frozenset(members), array)
        return found

    def build(self, requests: Sequence[Request]) -> tuple[np.ndarray, np.ndarray]:
        """``(in a followed category, excluded or by a followed author)``, each ``(B, P)``."""
        n = self.corpus.n_papers
        cat_rows: list[int] = []
        cat_cols: list[np.ndarray] = []
        gone_rows: list[int] = []
        gone_cols: list[np.ndarray] = []
        for b, request in enumerate(requests):
            if request.profile.categories:
                cat_rows.append(b)
                cat_cols.append(self._papers("category", request.profile.categories)[1])
            if request.exclude_keys:
                blocked, array = self._papers("exclude", tuple(request.exclude_keys))
                request.excluded = blocked
                gone_rows.append(b)
                gone_cols.append(array)
            if request.author_keys:
                request.authored = self.assembler.authored(request.author_keys)
                gone_rows.append(b)
                gone_cols.append(np.fromiter(request.authored, dtype=np.int64))
        return _mask(len(requests), n, cat_rows, cat_cols), _mask(
            len(requests), n, gone_rows, gone_cols
        )


def _mask(n_rows: int, n_cols: int, rows: list[int], cols: list[np.ndarray]) -> np.ndarray:
    """A boolean ``(n_rows, n_cols)`` mask, True at ``cols[i]`` of row ``rows[i]``."""
    mask = np.zeros((n_rows, n_cols), dtype=bool)
    if rows:
        lengths = [len(c) for c in cols]
        mask[np.repeat(rows, lengths), np.concatenate(cols)] = True
    return mask
