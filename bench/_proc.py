"""A process tree's memory from /proc, for the bench scripts that poll a run's peak
(``send_arms``, ``send_memory``, ``rank_speed``). Linux only; no imports of the project."""

from __future__ import annotations

from pathlib import Path


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (every thread's ``children``), those still running."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB, from ``smaps_rollup``: PSS shares the pages forked
    processes have in common; (0, 0) once it has gone."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss
