"""Send benchmark against the SMTP physical limit (issue 7).

    .venv/bin/python bench/send_vs_smtp_limit.py                 # 20,000 subscribers, 3 rounds
    .venv/bin/python bench/send_vs_smtp_limit.py --n 100000 --rounds 1 --skip naive
    .venv/bin/python bench/send_vs_smtp_limit.py --n 2000 --rounds 3   # a quick run
    .venv/bin/python bench/send_vs_smtp_limit.py --workers --n 20000   # 1 vs 2 `send --worker` on PostgreSQL

One Postfix ``smtp-sink`` on 127.0.0.1 receives everything. Each round runs three arms,
interleaved, and the medians are printed:

1. limit:   ``smtp-source -d -s 8 -m N -l SIZE`` (C load generator, 8 reused sessions), SIZE
            the average size of the project's messages for this edition and list;
2. naive:   a plain loop: rank, Jinja2 + MJML (``mjml2html`` per email), ``email`` package,
            ``smtplib`` with a new connection per message, one at a time (``--naive-n`` emails);
3. project: ``newsletter run`` in a subprocess (``bench/send_child.py``) on a copy of a
            database where the edition is already frozen, so it measures frozen -> all sent.

N subscribers get 1-3 topics each from ``TOPIC_POOL``. The edition is the bundled sample
day (30 papers) or ``--papers FILE`` (a Hugging Face Daily Papers JSON day).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.send_arms import (
    naive_arm,
    project_env,
    run_project,
    seed_database,
    smtp_source,
    worker_scaling,
)

SAMPLE_DATE = dt.date(2026, 11, 26)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    sink = subprocess.Popen(
        ["/usr/sbin/smtp-sink", "-u", "nobody", f"127.0.0.1:{port}", "256"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return sink
        except OSError:
            time.sleep(0.05)
    sink.kill()
    raise SystemExit("smtp-sink did not start")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=20_000, help="subscribers (default 20,000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--naive-n", type=int, default=600, help="emails per naive run")
    parser.add_argument("--papers", type=Path, help="a HF Daily Papers JSON day (default: sample)")
    parser.add_argument("--skip", action="append", default=[], choices=["limit", "naive"])
    parser.add_argument("--workers", action="store_true", help="1 vs 2 workers on PostgreSQL")
    parser.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="for --workers"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra NEWSLETTER_* setting for the project arm",
    )
    args = parser.parse_args()
    if not Path("/usr/sbin/smtp-sink").exists():
        raise SystemExit("needs Postfix's smtp-sink and smtp-source (apt-get install postfix)")
    work = Path(tempfile.mkdtemp(prefix="send-bench-"))
    port = free_port()
    sink = start_sink(port)
    extra = dict(item.split("=", 1) for item in args.env)
    print(f"machine: {machine()}")
    print(f"work folder: {work}; smtp-sink on 127.0.0.1:{port}")
    try:
        if args.workers:
            worker_scaling(work, port, args, extra)
            return
        pristine = work / "pristine.db"
        started = time.perf_counter()
        info = seed_database(pristine, args.n, SAMPLE_DATE, args.papers, random.Random(args.seed))
        print(
            f"setup: {args.n} subscribers, {info.papers} papers, {info.topic_sets} distinct "
            f"topic sets, {time.perf_counter() - started:.1f}s; average message "
            f"{info.average_size / 1024:.1f} KiB (from {info.sampled} rendered)"
        )
        results: dict[str, list[float]] = {"limit": [], "naive": [], "project": []}
        stages: list[dict[str, float]] = []
        for round_no in range(1, args.rounds + 1):
            if "limit" not in args.skip:
                rate = smtp_source(port, args.n, info.average_size)
                results["limit"].append(rate)
                print(f"round {round_no} limit:   {rate:8.0f} msg/s")
            if "naive" not in args.skip:
                rate = naive_arm(pristine, port, min(args.naive_n, args.n), SAMPLE_DATE)
                results["naive"].append(rate)
                print(f"round {round_no} naive:   {rate:8.0f} msg/s")
            copy = work / f"run{round_no}.db"
            shutil.copyfile(pristine, copy)
            env = project_env(f"sqlite:///{copy}", port, work, args.papers, extra)
            stage = run_project(work / f"stats{round_no}", env, args.n, SAMPLE_DATE)
            copy.unlink()
            stages.append(stage)
            results["project"].append(stage["rate"])
            print(
                f"round {round_no} project: {stage['rate']:8.0f} msg/s "
                f"(wall {stage['wall']:.1f}s; CPU s: rank {stage['rank']:.1f}, render "
                f"{stage['render']:.1f}, send {stage['send_other']:.1f}; peak memory "
                f"{stage['pss_mb']:.0f} MB PSS / {stage['rss_mb']:.0f} MB RSS summed, "
                f"{stage['max_process_mb']:.0f} MB largest process; "
                f"{stage['processes']:.0f} process(es))"
            )
        limit, naive, project = (median(results[k]) for k in ("limit", "naive", "project"))
        print()
        print(f"MEDIANS over {args.rounds} round(s), N={args.n}, {machine()}")
        print(f"  limit   (smtp-source, 8 sessions)  {limit:8.0f} msg/s")
        print(f"  naive   (mjml2html + smtplib)      {naive:8.0f} msg/s")
        print(f"  project (newsletter run)           {project:8.0f} msg/s")
        print(f"  project / limit  {project / limit:5.2f}   (target >= 0.5)")
        print(f"  project / naive  {project / naive:5.2f}   (target >= 3)")
        for key, label in (
            ("wall", "wall, frozen -> all sent"),
            ("cpu", "CPU, all project processes"),
            ("rank", "  of which rank"),
            ("render", "  of which render"),
            ("send_other", "  of which the rest (SMTP, ledger, loop, startup)"),
        ):
            print(f"  {label:50s} {median([s[key] for s in stages]):7.1f} s")
        for key, label in (
            ("pss_mb", "peak memory, PSS summed over processes"),
            ("rss_mb", "peak RSS summed (counts shared pages twice)"),
            ("max_process_mb", "peak RSS, largest process"),
        ):
            print(f"  {label:50s} {median([s[key] for s in stages]):7.0f} MB")
    finally:
        sink.terminate()
        sink.wait()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
