"""Memory of the whole ``newsletter run`` stage by stage (issue 18): where the peak is.

    .venv/bin/python bench/send_memory.py --n 20000
    .venv/bin/python bench/send_memory.py --n 100000 --keep   # the seeded list is reused
    .venv/bin/python bench/send_memory.py --n 100000 --log pss.tsv   # and PSS over time

The whole arm of ``bench/send_bench.py`` once (no performance setting; the captured HF day
served locally; collect -> all sent), polling ``/proc`` the same way (PSS summed over the
process tree, RSS of the largest process) every 0.1 s, and printing the peak of each stage:
a stage runs from one of the run's log lines to the next (``-v``), so the table says which
step holds the memory: embedding, queue, ranking and rendering, sending.

``--log FILE`` also writes one tab-separated line every ``--every`` seconds: elapsed s,
stage, PSS summed (MB), largest RSS (MB), the PSS of each process (MB, by pid) and the
ledger rows already ``sent`` (read from the SQLite file), so growth per message shows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._proc import memory_kb, process_tree
from bench.send_arms import PYTHON, ROOT, seed_database
from bench.send_bench import free_port, load, start_sink
from bench.send_whole import edition_date, hf_day_file, serve_hf_day, uncollected_copy, whole_env

# The run's log lines that start a stage (the first matching substring names it).
STAGES = (
    ("ranking: ", "embed the edition and the topics"),
    ("embedded ", "after embedding: queue"),
    ("queue: ", "queue done: fork"),
    ("started ", "send"),
    ("send: ", "send"),
    ("edition #", "finish"),
)


def sent_rows(database: Path) -> int:
    """Ledger rows ``sent`` so far (-1 while the file is busy or has no ledger yet)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.2) as conn:
            return int(
                conn.execute("SELECT count(*) FROM ledger WHERE state = 'sent'").fetchone()[0]
            )
    except sqlite3.Error:
        return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=20_000, help="subscribers (default 20,000)")
    parser.add_argument("--work", type=Path, help="folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="reuse the seeded list if there")
    parser.add_argument("--log", type=Path, help="write PSS over time to this TSV file")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between log lines")
    args = parser.parse_args()
    papers = hf_day_file()
    if papers is None:
        raise SystemExit("the shared HF day is missing (NEWSLETTER_FIXTURES)")
    work = args.work or Path(tempfile.mkdtemp(prefix="send-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    pristine = work / f"pristine{args.n}.db"
    if not (args.keep and pristine.exists()):
        pristine.unlink(missing_ok=True)
        seed_database(pristine, args.n, dt.date(2026, 11, 26), papers, random.Random(7))
    port = free_port()
    sink = start_sink(port)
    try:
        with serve_hf_day(papers) as url:
            copy = work / "whole.db"
            uncollected_copy(pristine, copy)
            env = whole_env(f"sqlite:///{copy}", port, work, url)
            stats = work / "stats"
            stats.mkdir(exist_ok=True)
            day = edition_date(papers).isoformat()
            command = [PYTHON, str(ROOT / "bench" / "send_child.py"), str(stats), "-v"]
            child = subprocess.Popen(
                [*command, "run", "--date", day],
                env=env,
                cwd=stats,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            stage = ["start: collect, archive"]
            peaks: dict[str, tuple[float, float]] = {}

            def follow() -> None:
                assert child.stdout is not None
                for line in child.stdout:
                    for marker, name in STAGES:
                        if marker in line:
                            stage[0] = name
                            break

            reader = threading.Thread(target=follow, daemon=True)
            reader.start()
            log = args.log.open("w") if args.log else None
            began = last = time.monotonic()
            if log:
                log.write("elapsed_s\tstage\tpss_mb\tlargest_rss_mb\tpss_by_pid\tsent\n")
            while child.poll() is None:
                pids = process_tree(child.pid)
                sizes = [memory_kb(p) for p in pids]
                pss = sum(p for _, p in sizes) / 1024
                largest = max((r for r, _ in sizes), default=0) / 1024
                old_pss, old_rss = peaks.get(stage[0], (0.0, 0.0))
                peaks[stage[0]] = (max(old_pss, pss), max(old_rss, largest))
                now = time.monotonic()
                if log and now - last >= args.every:
                    last = now
                    each = ",".join(
                        f"{p}:{s / 1024:.0f}" for p, (_, s) in zip(pids, sizes, strict=True)
                    )
                    log.write(
                        f"{now - began:.1f}\t{stage[0]}\t{pss:.1f}\t{largest:.1f}\t{each}"
                        f"\t{sent_rows(copy)}\n"
                    )
                    log.flush()
                time.sleep(0.1)
            reader.join(5)
            if log:
                log.close()
    finally:
        sink.terminate()
        sink.wait()
    if child.returncode != 0:
        raise SystemExit(f"newsletter run failed ({child.returncode})")
    print(f"N = {args.n:,}; load average (1/5 min) {load()} at the end; work folder {work}")
    print("| stage (from the log line that starts it) | peak PSS summed, MB | largest RSS, MB |")
    print("|---|---|---|")
    for name, (pss, rss) in peaks.items():
        print(f"| {name} | {pss:.0f} | {rss:.0f} |")
    top_pss = max(p for p, _ in peaks.values())
    top_rss = max(r for _, r in peaks.values())
    print(f"| **whole run** | **{top_pss:.0f}** | **{top_rss:.0f}** |")


if __name__ == "__main__":
    main()
