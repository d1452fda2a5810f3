"""The long chaos run: many seeded rounds of every fault, the invariant checked after each.

    .venv/bin/python -m bench.chaos --rounds 40 --seed 1 [--readers 300] [--postgres]
        [--maildir-every 4]

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

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the chaos harness's command line (``tests/deliver/chaos_cli.py``) in this
    process's place, with the same arguments."""
    os.chdir(ROOT)
    command = [sys.executable, "-m", "tests.deliver.chaos_cli", *sys.argv[1:]]
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
