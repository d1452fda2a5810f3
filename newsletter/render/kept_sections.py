"""Whole sections of a digest kept as one run of fixed text per edition (issue 18).

A section's part of the document (its title, its note, its cards) is a function of the
``SectionView`` alone (``render.skeleton`` renders it from that name only). The renderer
gives readers of the same section at the same place the same ``SectionView`` object
(``Renderer._sections`` under a stand-in token, ``render.stand_in``), so from the second
time an object is met its runs are joined into one ``segments.Plan`` without holes: its
whole lines are encoded once (the plan does it), and each later email adds one run
instead of a title and a run per card, each with its values escaped, looked up and
encoded per email.

kept = KeptSections()
kept.add(section, lambda out: render_section(section, out), out)   # appends runs to out
kept.clear()                                                     # a new edition

The runs are the same text (``segments.document``), so the encoding is the same bytes
(``segments.Encoder`` gives ``b2a_qp`` of the document, however it is cut into runs).
Objects are matched by identity and held while known, so an id is never reused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from newsletter.render.segments import Plan, Run, document

# Bounds per part and edition (a sender keeps them for its whole send): sections met once
# (the objects, which the renderer holds anyway), and characters of kept text (each held
# about twice: the text and its encoding).
MAX_MET = 4_096
MAX_KEPT_CHARS = 2_000_000


class KeptSections:
    """Sections met, by the identity of their object, and the ones kept as one run."""

    def __init__(self, max_chars: int = MAX_KEPT_CHARS) -> None:
        self.max_chars = max_chars
        self._met: dict[int, tuple[Any, Plan | None]] = {}
        self._chars = 0

    def clear(self) -> None:
        """Forget every section (a new edition)."""
        self._met.clear()
        self._chars = 0

    def kept_count(self) -> int:
        """How many sections are kept as one run."""
        return sum(1 for _, plan in self._met.values() if plan is not None)

    def add(self, section: Any, render: Callable[[list[Run]], None], out: list[Run]) -> None:
        """Appends to ``out`` the runs of ``section``: those ``render`` appends the first
        time, one kept run from the second (while within the bounds)."""
        met = self._met.get(id(section))
        if met is None or met[0] is not section:
            render(out)
            if len(self._met) >= MAX_MET:  # forget the sections met once, keep the kept
                self._met = {k: v for k, v in self._met.items() if v[1] is not None}
            self._met[id(section)] = (section, None)
            return
        plan = met[1]
        if plan is None:
            if self._chars >= self.max_chars:
                render(out)
                return
            runs: list[Run] = []
            render(runs)
            text = document(runs)
            plan = Plan((text,))
            self._chars += len(text)
            self._met[id(section)] = (section, plan)
        out.append((plan, ()))
