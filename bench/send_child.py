"""The project arm of ``bench/send_vs_smtp_limit.py``: the real ``newsletter`` CLI, with stage timers.

    python bench/send_child.py STATS_DIR run --date 2026-11-26

Runs ``newsletter.cli.main`` in this process after wrapping ``Ranker.rank_many`` and
``Renderer.digest`` with CPU-time counters, and ``pipeline.collect_edition`` (collect and
freeze) with CPU and wall counters (measurement only; the code path is unchanged).
``startup`` is the CPU this process spent importing before the command began.
Every process of the run (the parent and any forked senders) writes its counters to
``STATS_DIR/<pid>.json`` after each batch it composes, and the wall and CPU time of the
whole command (this process) go to ``STATS_DIR/main.json``.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from newsletter import pipeline
from newsletter.cli import main
from newsletter.outbox import send
from newsletter.rank import Ranker
from newsletter.render import Renderer

STATS: dict[str, float] = {
    "rank": 0.0,
    "render": 0.0,
    "emails": 0,
    "collect": 0.0,
    "collect_wall": 0.0,
}


def timed(name: str, func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            STATS[name] += time.process_time() - started
            if name == "render":
                STATS["emails"] += 1

    return wrapper


def timed_async(func: Any) -> Any:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return await func(*args, **kwargs)
        finally:
            STATS["collect"] += time.process_time() - cpu
            STATS["collect_wall"] += time.perf_counter() - wall

    return wrapper


def instrument(stats_dir: Path) -> None:
    pipeline.collect_edition = timed_async(pipeline.collect_edition)  # type: ignore[method-assign]
    Ranker.rank_many = timed("rank", Ranker.rank_many)  # type: ignore[method-assign]
    Renderer.digest = timed("render", Renderer.digest)  # type: ignore[method-assign]
    prepare = send._prepare

    @functools.wraps(prepare)
    def prepare_and_save(*args: Any, **kwargs: Any) -> Any:
        pairs = prepare(*args, **kwargs)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime
        saved = {**STATS, "cpu": cpu, "maxrss_kb": usage.ru_maxrss, "pid": os.getpid()}
        (stats_dir / f"{os.getpid()}.json").write_text(json.dumps(saved))
        return pairs

    send._prepare = prepare_and_save


def run() -> int:
    startup = resource.getrusage(resource.RUSAGE_SELF)
    stats_dir = Path(sys.argv[1])
    instrument(stats_dir)
    started = time.perf_counter()
    code = 0
    try:
        main.main(sys.argv[2:], standalone_mode=False)
    except SystemExit as exc:
        code = int(exc.code or 0)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary = {
        "wall": wall,
        "code": code,
        "maxrss_kb": usage.ru_maxrss,
        "cpu": usage.ru_utime + usage.ru_stime,  # the whole command, startup included
        "pid": os.getpid(),
        "startup": startup.ru_utime + startup.ru_stime,
        "collect": STATS["collect"],
        "collect_wall": STATS["collect_wall"],
    }
    (stats_dir / "main.json").write_text(json.dumps(summary))
    return code


if __name__ == "__main__":
    sys.exit(run())
