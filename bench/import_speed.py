"""How long ``newsletter subscribers import`` takes for a big CSV, end to end.

    .venv/bin/python -m bench.import_speed                        # 100,000 rows, SQLite, 3 rounds
    .venv/bin/python -m bench.import_speed --rows 20000 --rounds 5
    .venv/bin/python -m bench.import_speed --database-url postgresql://postgres@127.0.0.1/test

Writes one CSV of ``--rows`` readers (a name, two topics, a category; every 10th one
unsubscribed, every 25th bounced), then runs the real command in a subprocess
(``python -m newsletter subscribers import FILE``) into an empty database, and again into
one that already lists half of the file (the "already on the list" lookups). The arms
(database kind x empty/half x domain cache on/off) run interleaved, ``--rounds`` times each,
each into a fresh database; it reports the median, minimum and maximum wall time per arm
and rows/s, the median CPU time (user + system: on a shared machine the wall time
mostly measures the neighbours), and the load average.

"no domain cache" runs the same command after putting email-validator's own domain step
back in place of ``newsletter.addresses``' memoised one (``--no-cache-arm`` adds it).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.status_speed import scratch

ROOT = Path(__file__).resolve().parents[1]


def write_csv(path: Path, rows: int, start: int = 0) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "name", "status", "topics", "categories"])
        for i in range(start, rows):
            status = "unsubscribed" if i % 10 == 0 else "bounced" if i % 25 == 0 else "active"
            writer.writerow(
                [
                    f"Reader.{i:06d}@Example{i % 97}.org",
                    f"Reader {i}",
                    status,
                    f"topic {i % 50};robot learning",
                    "cs.LG",
                ]
            )


WITHOUT_CACHE = (
    "import sys\n"
    "from newsletter import addresses\n"
    "step = getattr(addresses._LIBRARY, addresses._DOMAIN_STEP)\n"
    "setattr(addresses._LIBRARY, addresses._DOMAIN_STEP, step.__wrapped__)\n"
    "from newsletter.cli import main\n"
    "main(sys.argv[1:])\n"
)


def import_once(
    url: str, csv_path: Path, env_dir: Path, *, cache: bool = True
) -> tuple[float, float, str]:
    env_file = env_dir / "bench.env"
    env_file.write_text(f"NEWSLETTER_DATABASE_URL={url}\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            *(["-m", "newsletter"] if cache else ["-c", WITHOUT_CACHE]),
            "--env-file",
            str(env_file),
            "subscribers",
            "import",
            str(csv_path),
        ],
        cwd=env_dir,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, cpu, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL to use as well (SQLite always runs)"
    )
    parser.add_argument(
        "--no-cache-arm", action="store_true", help="also run without the domain cache"
    )
    args = parser.parse_args()
    caches = [True, False] if args.no_cache_arm else [True]
    kinds: list[str | None] = [None] + ([args.database_url] if args.database_url else [])
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}  # user + system of the command (less inflated by load)
    with tempfile.TemporaryDirectory() as folder:
        full = Path(folder) / "full.csv"
        half = Path(folder) / "half.csv"
        write_csv(full, args.rows)
        write_csv(half, args.rows // 2)
        for round_no in range(args.rounds):
            for kind in kinds:
                for arm in ("empty", "half listed"):
                    for cache in caches:
                        name = f"{'postgresql' if kind else 'sqlite'}, {arm}" + (
                            "" if cache else ", no domain cache"
                        )
                        work = Path(folder) / f"{round_no}-{name}".replace(", ", "-").replace(
                            " ", "_"
                        )
                        work.mkdir()
                        with scratch(kind, str(work)) as url:
                            if arm == "half listed":
                                import_once(url, half, work)
                            elapsed, used, said = import_once(url, full, work, cache=cache)
                        times.setdefault(name, []).append(elapsed)
                        cpu.setdefault(name, []).append(used)
                        print(
                            f"round {round_no + 1}, {name}: {elapsed:.2f}s, CPU {used:.2f}s"
                            f" ({said})",
                            flush=True,
                        )
    load = ", ".join(f"{a:.1f}" for a in os.getloadavg())
    print(f"\n{args.rows:,} rows, {args.rounds} rounds, wall time of the whole command")
    print(f"(load average {load} at the end, {os.cpu_count()} CPUs):")
    for name, found in times.items():
        median = statistics.median(found)
        print(
            f"  {name:<42} median {median:6.2f}s  min {min(found):6.2f}s  "
            f"max {max(found):6.2f}s  ({args.rows / median:,.0f} rows/s)  "
            f"CPU median {statistics.median(cpu[name]):6.2f}s"
        )


if __name__ == "__main__":
    main()
