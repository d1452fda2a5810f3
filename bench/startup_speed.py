"""How long the everyday commands take to start: ``newsletter --help`` and ``status``.

    .venv/bin/python -m bench.startup_speed               # 15 rounds
    .venv/bin/python -m bench.startup_speed --rounds 31

Each arm is a fresh interpreter (what cron and a shell pay), timed from spawn to exit:

- ``--help``: the root help (lists every command without importing one);
- ``status``: against a small SQLite database made beforehand (migrated, 100 readers),
  read with ``sqlite3`` and the small settings reader (``newsletter.status_settings``);
- ``status --json``, ``status --check``, ``-v status``: the same, other outputs;
- ``status, old path``: the same command forced through the store (SQLAlchemy) with
  ``Settings`` (pydantic-settings, email-validator), as every status ran before and as it
  still runs on PostgreSQL or with a migration pending (the "before" figure, measured now);
- ``subscribers list``: the same database;
- ``--help, every module``: the root help after importing every command's module, as
  every command did before the lazy group (the "before" figure, measured now);
- ``libraries status needs``: a bare ``import click, sqlite3, dotenv`` (what ``status``
  pays before a line of ours runs), so the figure above it is the part the project controls;
- ``libraries of the old path``: a bare ``import click, sqlalchemy, pydantic_settings,
  email_validator`` (what the old path paid before a line of ours ran).

The database's settings file is a realistic one (FROM, REPLY_ADDRESS, BASE_URL,
SMTP_HOST: their validation is part of every start). Children get a warm bytecode cache
(``PYTHONPYCACHEPREFIX`` in the temporary folder, one untimed round first) even where
``PYTHONDONTWRITEBYTECODE`` is set, as it is on the shared dev machine: without it every
start compiles the project's modules from source, which no installed copy does.

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


FLOOR = "import click, sqlite3, dotenv"
OLD_FLOOR = (
    "import click, sqlalchemy, sqlalchemy.dialects.sqlite, pydantic_settings, email_validator"
)
# `status` with the sqlite3 reader refused, so it takes the path PostgreSQL takes.
OLD_PATH = (
    "import contextlib, sys\n"
    "from newsletter.store import status_sqlite\n"
    "status_sqlite.SqliteStatusReads.open_current = staticmethod("
    "lambda path: contextlib.nullcontext(None))\n"
    "from newsletter.cli.base import main\n"
    "main(sys.argv[1:])\n"
)

SETTINGS = (
    "NEWSLETTER_FROM=Papers <papers@example.org>\n"
    "NEWSLETTER_REPLY_ADDRESS=replies@example.org\n"
    "NEWSLETTER_BASE_URL=https://papers.example.org\n"
    "NEWSLETTER_SMTP_HOST=127.0.0.1\n"
)


def arms(env_file: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "newsletter", "--env-file", str(env_file)]
    return {
        "--help": [*cli, "--help"],
        "status": [*cli, "status"],
        "status --json": [*cli, "status", "--json"],
        "status --check": [*cli, "status", "--check"],
        "-v status": [*cli, "-v", "status"],
        "status, old path": [sys.executable, "-c", OLD_PATH, "--env-file", str(env_file), "status"],
        "subscribers list": [*cli, "subscribers", "list"],
        "--help, every module": [sys.executable, "-c", EAGER, "--help"],
        "libraries status needs": [sys.executable, "-c", FLOOR],
        "libraries of old path": [sys.executable, "-c", OLD_FLOOR],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    assert COMMANDS  # the lazy table exists (else this measures nothing new)
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NEWSLETTER_") and k != "PYTHONDONTWRITEBYTECODE"
    }
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
        env_file.write_text(f"NEWSLETTER_DATABASE_URL={url}\n{SETTINGS}")
        environ["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "pycache")
        commands = arms(env_file)
        for argv in commands.values():  # untimed: fills the bytecode cache
            subprocess.run(argv, cwd=folder, env=environ, capture_output=True)
        load_before = os.getloadavg()
        for _ in range(args.rounds):
            for name, argv in commands.items():
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                done = subprocess.run(argv, cwd=folder, env=environ, capture_output=True)
                elapsed = time.perf_counter() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                cpu.setdefault(name, []).append(used)
                if done.returncode != 0 and not (name.endswith("--check") and done.returncode == 2):
                    raise SystemExit(f"{name} failed: {done.stderr.decode().strip()}")
                times.setdefault(name, []).append(elapsed)
    load = ", ".join(f"{a:.1f}" for a in load_before)
    load_after = ", ".join(f"{a:.1f}" for a in os.getloadavg())
    print(f"{args.rounds} rounds, wall time from spawn to exit (load average {load} before,")
    print(f"{load_after} after, on {os.cpu_count()} CPUs):")
    for name, found in times.items():
        print(
            f"  {name:<22} median {statistics.median(found):.3f}s  "
            f"min {min(found):.3f}s  max {max(found):.3f}s  "
            f"CPU median {statistics.median(cpu[name]):.3f}s"
        )


if __name__ == "__main__":
    main()
