"""Sections of many plain subscribers at once, each distinct section built once.

A *plain* row has topics, no feedback, no followed authors or categories: its email is
one section per topic, then "Also today". Such a topic section is fully determined by
(the topic as written, its picked papers and their keys), and "Also today" by its
papers, so both are looked up by that signature (its bytes, in a dict that lives as long
as the Ranker) and equal ``Section`` objects are shared. The rules are those of ``Assembler.sections``; tests compare the two on random profiles.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from newsletter.models import Section
from newsletter.rank.sections import ALSO_TODAY, Assembler, Request

T = TypeVar("T")


def padded(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Lists of ints as one ``(len(rows), max(1, longest))`` int64 array, -1 padded."""
    counts = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    out = np.full((len(rows), max(1, int(counts.max(initial=0)))), -1, dtype=np.int64)
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64)
    starts = np.cumsum(counts) - counts
    at = np.repeat(np.arange(len(rows)), counts)
    out[at, np.arange(len(flat)) - starts[at]] = flat
    return out


def _lookup(
    signatures: np.ndarray, cache: dict[bytes, T], build: Callable[[np.ndarray], T]
) -> list[T]:
    """Per row of ``signatures``: the cached object for its bytes, built on first sight."""
    blob = np.ascontiguousarray(signatures).tobytes()
    step = signatures.shape[1] * signatures.itemsize
    out: list[T] = []
    for i in range(len(signatures)):
        key = blob[i * step : (i + 1) * step]
        try:
            out.append(cache[key])
        except KeyError:
            found = cache[key] = build(signatures[i])
            out.append(found)
    return out


class SectionCache:
    """Sections built once per distinct (topic, picks) in a chunk of plain rows, shared by
    every subscriber who gets the same one."""

    def __init__(self, assembler: Assembler) -> None:
        self.assembler = assembler
        self.global_order = np.asarray(assembler.global_order, dtype=np.int64)
        self._written: dict[str, int] = {}
        self._written_list: list[str] = []
        self._topics: dict[bytes, Section] = {}
        self._also: dict[bytes, Section | None] = {}

    def written_id(self, written: str) -> int:
        """A small integer for the topic as the subscriber wrote it (stable within the cache)."""
        wid = self._written.get(written)
        if wid is None:
            wid = self._written[written] = len(self._written_list)
            self._written_list.append(written)
        return wid

    def topic_sections(
        self, requests: Sequence[Request], papers: np.ndarray, keys: np.ndarray
    ) -> list[list[Section]]:
        """Each row's topic sections from its ``(B, T, k)`` picks, equal ones shared.

        Rows with feedback have their own scores (the Rocchio shift), so their sections
        are built directly, without filling the shared cache with one-off entries.
        """
        wids = padded([[t.wid for t in r.topics] for r in requests])
        present = wids >= 0
        wid, picked, valued = wids[present], papers[present], keys[present]
        personal = np.array([bool(r.feedback) for r in requests])[np.nonzero(present)[0]]
        flat: list[Section] = [Section("", ())] * len(wid)
        shared = np.flatnonzero(~personal)
        signatures = np.concatenate(
            [wid[shared, None], picked[shared], valued[shared].view(np.int32)], axis=1
        )
        for i, section in zip(
            shared.tolist(), _lookup(signatures, self._topics, self._topic_section), strict=True
        ):
            flat[i] = section
        own = np.flatnonzero(personal)
        for i, w, row_p, row_v in zip(
            own.tolist(),
            wid[own].tolist(),
            picked[own].tolist(),
            valued[own].tolist(),
            strict=True,
        ):
            flat[i] = self._section(self._written_list[w], row_p, row_v, keep=False)
        out: list[list[Section]] = []
        start = 0
        for request in requests:
            end = start + len(request.topics)
            out.append(flat[start:end])
            start = end
        return out

    def also_today(self, papers: np.ndarray, excluded: np.ndarray) -> list[Section | None]:
        """Each row's "Also today" after its ``(B, T, k)`` picks and ``(B, P)`` exclusions."""
        shown = excluded.copy()
        at_b, at_t, at_j = np.nonzero(papers >= 0)
        shown[at_b, papers[at_b, at_t, at_j]] = True
        return self._also_today(shown, papers.shape[1] * papers.shape[2])

    def _topic_section(self, signature: np.ndarray) -> Section:
        k = (len(signature) - 1) // 2
        picked = signature[1 : 1 + k].tolist()
        values = signature[1 + k :].astype(np.int32).view(np.float32).tolist()
        return self._section(self._written_list[int(signature[0])], picked, values, keep=True)

    def _section(
        self, written: str, picked: list[int], values: list[float], *, keep: bool
    ) -> Section:
        item = self.assembler.topic_item
        items = tuple(
            [item(written, p, v, keep) for p, v in zip(picked, values, strict=True) if p >= 0]
        )
        return Section(written, items, written, "" if items else f"Nothing on {written} today.")

    def _also_today(self, shown: np.ndarray, most_shown: int) -> list[Section | None]:
        """Per row: the first ``also_today`` papers of the global order not shown yet.

        Looks at the first ``also_today + most_shown`` papers of the order first; only
        rows that did not find enough there (many exclusions) look further.
        """
        limit = self.assembler.also_today
        n_rows = shown.shape[0]
        if limit <= 0 or not len(self.global_order):
            return [None] * n_rows
        chosen = np.full((n_rows, limit), -1, dtype=np.int64)
        rows = np.arange(n_rows)
        for window in (self.global_order[: limit + most_shown], self.global_order):
            free = ~shown[rows[:, None], window]
            rank = np.cumsum(free, axis=1)
            at, cols = np.nonzero(free & (rank <= limit))
            chosen[rows[at], rank[at, cols] - 1] = window[cols]
            rows = rows[rank[:, -1] < limit]
            if not len(rows) or len(window) == len(self.global_order):
                break
        return _lookup(chosen, self._also, self._also_section)

    def _also_section(self, chosen: np.ndarray) -> Section | None:
        items = self.assembler.popular_items([p for p in chosen.tolist() if p >= 0], None)
        return Section(ALSO_TODAY, items) if items else None
