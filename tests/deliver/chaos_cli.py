"""The long chaos run: many seeded rounds of every fault, the invariant checked after each.

    .venv/bin/python -m tests.deliver.chaos_cli --rounds 40 --seed 1 [--readers 300]
        [--postgres] [--maildir-every 4]

(``bench/chaos.py`` runs this module; it lives beside the harness it drives, so that no
bench script imports ``tests``.)

Each round runs an edition against the scripted SMTP server (or a Maildir on a full
disk) through the faults of ``tests/deliver/chaos.py``: kill -9, SIGSTOP longer than
the lease, a second sender, clock skew between senders, malformed replies and drops
after the final dot, drops after 354, greylisting, and the next day's run over the first
day's deferred messages. It prints one line per round and the totals (rounds, faults
injected, copies, duplicates, unknown rows, violations) with the load average; the exit
status is 1 if any round broke the invariant. Needs libfaketime (apt package faketime);
``--postgres`` uses a fresh schema per round on NEWSLETTER_TEST_POSTGRES (default
postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.deliver.chaos import RoundResult, run_rounds
from tests.support.databases import fresh_postgres_schema


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--readers", type=int, default=300)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--maildir-every", type=int, default=4)
    args = parser.parse_args()
    started = time.monotonic()
    results: list[RoundResult] = []
    with tempfile.TemporaryDirectory(prefix="chaos-") as folder:
        tmp = Path(folder)
        counter = itertools.count()

        @contextmanager
        def sqlite() -> Iterator[str]:
            yield f"sqlite:///{tmp / f'chaos-{next(counter)}.db'}"

        databases = fresh_postgres_schema if args.postgres else sqlite
        print(f"chaos: {args.rounds} rounds, seed {args.seed}, load {loadavg()}", flush=True)
        for index, result in enumerate(
            run_rounds(
                databases,
                tmp,
                rounds=args.rounds,
                seed_value=args.seed,
                readers=args.readers,
                maildir_every=args.maildir_every,
            )
        ):
            results.append(result)
            print(f"{index + 1:3} {result.line()}  load {loadavg()}", flush=True)
            for violation in result.violations[:10]:
                print(f"      {violation}", flush=True)
    faults: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    for result in results:
        faults.update(result.faults)
        kinds[result.kind] += 1
    print(f"rounds: {len(results)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    print("faults injected: " + ", ".join(f"{k} {n}" for k, n in sorted(faults.items())))
    print(
        f"copies {sum(r.copies for r in results)}, duplicates"
        f" {sum(r.duplicates for r in results)}, unknown rows {sum(r.unknown for r in results)}"
        f" ({sum(r.unknown_without_copy for r in results)} without a copy), violations"
        f" {sum(len(r.violations) for r in results)}, {time.monotonic() - started:.0f}s,"
        f" load {loadavg()}"
    )
    sys.exit(1 if any(r.violations for r in results) else 0)


if __name__ == "__main__":
    main()
