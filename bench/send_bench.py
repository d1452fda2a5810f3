"""Send benchmark against the SMTP physical limit (issues 7 and 18): one command, a
README-ready table.

    .venv/bin/python bench/send_bench.py                  # 20,000 readers, 3 rounds, all arms
    .venv/bin/python bench/send_bench.py --n 2000 --rounds 3 --naive-n 200        # quick
    .venv/bin/python bench/send_bench.py --n 100000 --rounds 1 --skip limit --skip naive \
        --skip project                                    # memory of the default run
    .venv/bin/python bench/send_bench.py --workers --n 5000   # 1 vs 2 `send --worker` (PostgreSQL)

One Postfix ``smtp-sink`` on 127.0.0.1 receives everything. Each round runs the arms
interleaved, and the medians are printed, then a Markdown table:

1. limit:   ``smtp-source -d -s 8 -m N -l SIZE`` (C load generator, 8 reused sessions), SIZE
            the average size of the project's messages for this edition and list;
2. naive:   a plain loop: rank, Jinja2 + MJML (``mjml2html`` per email), ``email`` package,
            ``smtplib`` with a new connection per message, one at a time (``--naive-n`` emails);
3. project: ``newsletter run`` in a subprocess (``bench/send_child.py``) on a copy of a
            database where the edition is already frozen (frozen -> all sent), with the
            settings given by ``--env``;
4. whole:   ``newsletter run`` with no performance setting at all, from the edition not
            yet collected (the HF day served by a local HTTP server, ``bench/send_whole.py``)
            to all sent: what a user gets out of the box.

N readers get 1-3 topics each from ``TOPIC_POOL``. The edition is a real captured Hugging
Face day from the shared fixtures (29 papers; the bundled sample day if they are missing)
or ``--papers FILE``.
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
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.send_arms import (
    SetupInfo,
    naive_arm,
    project_env,
    run_project,
    seed_database,
    smtp_source,
    worker_scaling,
)
from bench.send_whole import edition_date, hf_day_file, serve_hf_day, uncollected_copy, whole_env

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


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def run_round(
    round_no: int,
    args: argparse.Namespace,
    work: Path,
    port: int,
    pristine: Path,
    info: SetupInfo,
    extra: dict[str, str],
    hf_url: str | None,
    results: dict[str, list[dict[str, float]]],
) -> None:
    """One round: every arm once, in a fixed order (the rounds interleave them)."""
    if "limit" not in args.skip:
        rate = smtp_source(port, args.n, info.average_size)
        results["limit"].append({"rate": rate})
        print(f"round {round_no} limit:   {rate:8.0f} msg/s (load {load()})", flush=True)
    if "naive" not in args.skip:
        rate = naive_arm(pristine, port, min(args.naive_n, args.n), SAMPLE_DATE)
        results["naive"].append({"rate": rate})
        print(f"round {round_no} naive:   {rate:8.0f} msg/s (load {load()})", flush=True)
    if "project" not in args.skip:
        copy = work / f"run{round_no}.db"
        shutil.copyfile(pristine, copy)
        env = project_env(f"sqlite:///{copy}", port, work, args.papers, extra)
        stage = run_project(work / f"stats{round_no}", env, args.n, SAMPLE_DATE)
        copy.unlink()
        results["project"].append(stage)
        print(f"round {round_no} project: {describe(stage)} (load {load()})", flush=True)
    if "whole" not in args.skip and hf_url is not None and args.papers is not None:
        copy = work / f"whole{round_no}.db"
        uncollected_copy(pristine, copy)
        env = whole_env(f"sqlite:///{copy}", port, work, hf_url)
        day = edition_date(args.papers)
        stage = run_project(work / f"whole{round_no}", env, args.n, day)
        copy.unlink()
        results["whole"].append(stage)
        print(f"round {round_no} whole:   {describe(stage)} (load {load()})", flush=True)


def describe(stage: dict[str, float]) -> str:
    return (
        f"{stage['rate']:8.0f} msg/s (wall {stage['wall']:.1f}s; CPU s: startup "
        f"{stage['startup']:.1f}, collect {stage['collect']:.1f}, rank {stage['rank']:.1f}, "
        f"render {stage['render']:.1f}, send {stage['send_other']:.1f}; peak "
        f"{stage['pss_mb']:.0f} MB PSS summed, {stage['max_process_mb']:.0f} MB largest; "
        f"{stage['processes']:.0f} process(es))"
    )


def table(
    results: dict[str, list[dict[str, float]]], args: argparse.Namespace, info: SetupInfo
) -> list[str]:
    """The README's tables: rates against the limit, then stages and memory per arm."""
    limit = median([r["rate"] for r in results["limit"]])
    settings = " ".join(args.env) or "no settings"
    names = {
        "limit": "limit (`smtp-source -s 8`)",
        "naive": "naive (mjml2html + smtplib)",
        "project": f"project, frozen → sent ({settings})",
        "whole": "**`newsletter run`, defaults, collect → sent**",
    }
    lines = [
        f"N = {args.n:,}, {args.rounds} interleaved round(s), average message "
        f"{info.average_size / 1024:.1f} KiB, {info.papers} papers; {machine()}; "
        f"load average (1/5 min) {load()} at the end",
        "",
        "| arm | median msg/s | rounds | / limit |",
        "|---|---|---|---|",
    ]
    for arm, runs in results.items():
        if not runs:
            continue
        rates = [r["rate"] for r in runs]
        ratio = median(rates) / limit if results["limit"] else float("nan")
        rounds = " / ".join(f"{r:,.0f}" for r in rates)
        lines.append(f"| {names[arm]} | {median(rates):,.0f} | {rounds} | {ratio:.2f} |")
    staged = [arm for arm in ("project", "whole") if results[arm]]
    if staged:
        lines += [
            "",
            "| median | " + " | ".join(staged) + " |",
            "|---|" + "---|" * len(staged),
        ]
        rows = (
            ("wall, s", "wall", "{:.1f}"),
            ("CPU, all processes, s", "cpu", "{:.1f}"),
            ("  startup (imports, first process), s", "startup", "{:.2f}"),
            ("  collect + freeze, s", "collect", "{:.2f}"),
            ("  rank, s", "rank", "{:.1f}"),
            ("  render, s", "render", "{:.1f}"),
            ("  send (SMTP, ledger, loop) and the rest, s", "send_other", "{:.1f}"),
            ("CPU per message, ms", "cpu_per_message", "{:.2f}"),
            ("peak PSS summed over processes, MB", "pss_mb", "{:.0f}"),
            ("peak RSS, largest process, MB", "max_process_mb", "{:.0f}"),
            ("processes", "processes", "{:.0f}"),
        )
        for label, key, fmt in rows:
            cells = []
            for arm in staged:
                values = [
                    r["cpu"] * 1000 / args.n if key == "cpu_per_message" else r[key]
                    for r in results[arm]
                ]
                cells.append(fmt.format(median(values)))
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=20_000, help="subscribers (default 20,000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--naive-n", type=int, default=600, help="emails per naive run")
    parser.add_argument("--papers", type=Path, help="a HF Daily Papers JSON day (default: shared)")
    parser.add_argument(
        "--skip", action="append", default=[], choices=["limit", "naive", "project", "whole"]
    )
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
        help="extra NEWSLETTER_* setting for the project arm (never the whole arm)",
    )
    args = parser.parse_args()
    if not Path("/usr/sbin/smtp-sink").exists():
        raise SystemExit("needs Postfix's smtp-sink and smtp-source (apt-get install postfix)")
    if args.papers is None:
        args.papers = hf_day_file()
        if args.papers is None:
            print("the shared HF day is missing: the sample day, and no whole arm")
    work = Path(tempfile.mkdtemp(prefix="send-bench-"))
    port = free_port()
    sink = start_sink(port)
    extra = dict(item.split("=", 1) for item in args.env)
    print(f"machine: {machine()}; load average {load()}")
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
        results: dict[str, list[dict[str, float]]] = {
            "limit": [],
            "naive": [],
            "project": [],
            "whole": [],
        }
        with serve_hf_day(args.papers) if args.papers else nullcontext(None) as hf_url:
            for round_no in range(1, args.rounds + 1):
                run_round(round_no, args, work, port, pristine, info, extra, hf_url, results)
        print()
        print("\n".join(table(results, args, info)))
    finally:
        sink.terminate()
        sink.wait()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
