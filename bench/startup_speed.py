"""How long the everyday commands take to start: ``newsletter --help`` and ``status``.

    .venv/bin/python -m bench.startup_speed               # 15 rounds
    .venv/bin/python -m bench.startup_speed --rounds 31

Each arm is a fresh interpreter (what cron and a shell pay), timed from spawn to exit:

- ``--help``: the root help (lists every command without importing one);
- ``status``: against a small SQLite database made beforehand (migrated, 100 readers);
- ``subscribers list``: the same database;
- ``--help, every module``: the root help after importing every command's module, as
  every command did before the lazy group (the "before" figure, measured now).

Arms run interleaved, ``--rounds`` times each; the report gives the median, minimum and
maximum wall time per arm, and the median CPU time (user + system, from the child's
rusage), which other programs on a shared machine do not inflate as much.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newsletter.cli.base import COMMANDS
from newsletter.store import subscribers
from newsletter.store.db import Store

EAGER = (
    "import importlib, sys\n"
    "from newsletter.cli.base import COMMANDS, main\n"
    "for module, _ in COMMANDS.values(): importlib.import_module(module)\n"
    "main(sys.argv[1:])\n"
)


def arms(env_file: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "newsletter", "--env-file", str(env_file)]
    return {
        "--help": [*cli, "--help"],
        "status": [*cli, "status"],
        "subscribers list": [*cli, "subscribers", "list"],
        "--help, every module": [sys.executable, "-c", EAGER, "--help"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    assert COMMANDS  # the lazy table exists (else this measures nothing new)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'startup.db'}"
        now = dt.datetime.now(dt.UTC)
        store = Store.open(url, now=now)
        with store.begin() as conn:
            for i in range(100):
                subscribers.add(conn, f"reader{i}@example.org", now=now)
        store.close()
        env_file = Path(folder) / "startup.env"
        env_file.write_text(f"NEWSLETTER_DATABASE_URL={url}\n")
        commands = arms(env_file)
        for _ in range(args.rounds):
            for name, argv in commands.items():
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                done = subprocess.run(argv, cwd=folder, env=environ, capture_output=True)
                elapsed = time.perf_counter() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                cpu.setdefault(name, []).append(used)
                if done.returncode != 0:
                    raise SystemExit(f"{name} failed: {done.stderr.decode().strip()}")
                times.setdefault(name, []).append(elapsed)
    print(f"{args.rounds} rounds, wall time from spawn to exit:")
    for name, found in times.items():
        print(
            f"  {name:<22} median {statistics.median(found):.3f}s  "
            f"min {min(found):.3f}s  max {max(found):.3f}s  "
            f"CPU median {statistics.median(cpu[name]):.3f}s"
        )


if __name__ == "__main__":
    main()
