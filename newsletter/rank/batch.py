"""Sections of many plain subscribers at once, each distinct section built once.

A *plain* row has topics, no feedback, no followed authors or categories: its email is
one section per topic, then "Also today". Such a topic section is fully determined by
(the topic as written, its picked papers and their keys), and "Also today" by its
papers, so both are looked up by that signature (deduplicated with numpy per chunk, then
in a dict that lives as long as the Ranker) and the equal ``Section`` object is shared.
The rules are those of ``Assembler.sections``; tests compare the two on random profiles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from newsletter.models import Section
from newsletter.rank.sections import ALSO_TODAY, Assembler, Request


def _distinct_rows(signatures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(index of the first row of each distinct signature, inverse)``."""
    if not len(signatures):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(signatures, axis=0, return_index=True, return_inverse=True)
    return first, inverse.ravel()


class SectionCache:
    def __init__(self, assembler: Assembler) -> None:
        self.assembler = assembler
        self.global_order = np.asarray(assembler.global_order, dtype=np.int64)
        self._written: dict[str, int] = {}
        self._written_list: list[str] = []
        self._topics: dict[bytes, Section] = {}
        self._also: dict[bytes, Section | None] = {}

    def written_id(self, written: str) -> int:
        wid = self._written.get(written)
        if wid is None:
            wid = self._written[written] = len(self._written_list)
            self._written_list.append(written)
        return wid

    def assemble(
        self,
        requests: Sequence[Request],
        papers: np.ndarray,
        keys: np.ndarray,
        excluded: np.ndarray,
    ) -> list[tuple[Section, ...]]:
        """``papers``/``keys``: ``(B, T, k)`` picks; ``excluded``: ``(B, P)``."""
        n_rows, width, _ = papers.shape
        wids = np.full((n_rows, width), -1, dtype=np.int64)
        counts = np.zeros(n_rows, dtype=np.int64)
        for row, request in enumerate(requests):
            counts[row] = len(request.wids)
            wids[row, : len(request.wids)] = request.wids
        present = wids >= 0
        signatures = np.concatenate(
            [wids[present][:, None], papers[present], keys[present].view(np.int32)], axis=1
        )
        first, inverse = _distinct_rows(signatures)
        distinct = [self._topic_section(signatures[i]) for i in first.tolist()]
        topic_sections = [distinct[i] for i in inverse.tolist()]

        shown = excluded.copy()
        at_b, at_t, at_j = np.nonzero(papers >= 0)
        shown[at_b, papers[at_b, at_t, at_j]] = True
        also = self._also_today(shown)
        out: list[tuple[Section, ...]] = []
        start = 0
        for count, extra in zip(counts.tolist(), also, strict=True):
            mine = topic_sections[start : start + count]
            out.append((*mine, extra) if extra is not None else tuple(mine))
            start += count
        return out

    def _topic_section(self, signature: np.ndarray) -> Section:
        key = signature.tobytes()
        found = self._topics.get(key)
        if found is None:
            k = (len(signature) - 1) // 2
            written = self._written_list[int(signature[0])]
            picked = signature[1 : 1 + k].tolist()
            values = signature[1 + k :].astype(np.int32).view(np.float32).tolist()
            items = tuple(
                self.assembler.topic_item(written, p, v)
                for p, v in zip(picked, values, strict=True)
                if p >= 0
            )
            note = "" if items else f"Nothing on {written} today."
            found = self._topics[key] = Section(written, items, written, note)
        return found

    def _also_today(self, shown: np.ndarray) -> list[Section | None]:
        """Per row: the first ``also_today`` papers of the global order not shown yet."""
        limit = self.assembler.also_today
        n_rows = shown.shape[0]
        if limit <= 0 or not len(self.global_order):
            return [None] * n_rows
        free = ~shown[:, self.global_order]
        rank = np.cumsum(free, axis=1)
        rows, cols = np.nonzero(free & (rank <= limit))
        chosen = np.full((n_rows, limit), -1, dtype=np.int64)
        chosen[rows, rank[rows, cols] - 1] = self.global_order[cols]
        first, inverse = _distinct_rows(chosen)
        distinct = [self._also_section(chosen[i]) for i in first.tolist()]
        return [distinct[i] for i in inverse.tolist()]

    def _also_section(self, chosen: np.ndarray) -> Section | None:
        key = chosen.tobytes()
        if key not in self._also:
            picked = [p for p in chosen.tolist() if p >= 0]
            items = self.assembler.popular_items(picked, None)
            self._also[key] = Section(ALSO_TODAY, items) if items else None
        return self._also[key]
