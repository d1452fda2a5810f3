"""Greylisting and pace: does one slow recipient slow everyone down? (issue 12)

    .venv/bin/python -m bench.send_greylist [--messages 2000] [--rounds 3]
        [--arms 0,1,10] [--baseline DIR] [--timeout 300]

Arms: ``0`` no greylisting; ``1`` 1 % of recipients answer 451 at RCPT once; ``10``
10 % answer 451 every time. Each measurement is one first pass over a fresh edition (a
fresh SQLite ledger, the scripted SMTP server on 127.0.0.1, SMTP_CONCURRENCY=4, the
production retry settings; deferred messages wait for a later run, RETRY_IN_RUN_MAX_WAIT=0)
in its own process. ``--baseline DIR`` also runs every arm with the code in DIR (for
example ``git archive <commit> | tar -x -C DIR``), interleaved with this tree's, so both
see the same machine load; ``--timeout`` stops a measurement that takes longer and
reports how far it got. Prints one line per measurement with the load average, then
medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._support import SmtpServer, address, compose, seed, smtp_settings, utcnow
from newsletter.deliver import open_transport
from newsletter.outbox.send import send_edition
from newsletter.store import ledger, locks
from newsletter.store.db import Store

ROOT = Path(__file__).resolve().parents[1]


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 1)[0]


async def one(arm: int, messages: int, timeout: float) -> dict[str, object]:
    greylist: dict[str, int | None] = {}
    if arm:
        step = 100 // arm
        times = 1 if arm == 1 else None
        greylist = {address(i): times for i in range(0, messages, step)}
    server = SmtpServer.start(greylist)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        store = Store.open(url, now=utcnow())
        edition = seed(store, messages)
        settings = smtp_settings(
            server.port,
            database_url=url,
            smtp_timeout=30.0,
            message_timeout=120.0,
            retry_base_delay=60.0,
            retry_max_delay=6 * 3600.0,
            retry_in_run_max_wait=0.0,
            send_batch_size=50,
        )
        started = time.monotonic()
        stopped, throttles = False, None
        try:
            async with open_transport(settings) as transport:
                report = await asyncio.wait_for(
                    send_edition(
                        store,
                        settings,
                        edition,
                        compose,
                        transport,
                        worker=locks.holder_id("bench"),
                        clock=utcnow,
                    ),
                    timeout,
                )
            throttles = report.throttle_events
        except TimeoutError:
            stopped = True
        seconds = time.monotonic() - started
        with store.begin() as conn:
            counts = ledger.counts(conn, edition.id)
        store.close()
    server.stop()
    return {
        "arm": arm,
        "seconds": round(seconds, 2),
        "sent": counts["sent"],
        "deferred": counts["deferred"],
        "throttles": throttles,
        "timed_out": stopped,
    }


def measure(tree: Path, arm: int, messages: int, timeout: float) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": f"{tree}:{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.send_greylist", "--one", str(arm),
         "--messages", str(messages), "--timeout", str(timeout)],
        cwd=tree, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--arms", default="0,1,10")
    parser.add_argument("--baseline", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(asyncio.run(one(args.one, args.messages, args.timeout))))
        return
    trees = [("this tree", ROOT)] + ([("baseline", args.baseline)] if args.baseline else [])
    arms = [int(a) for a in args.arms.split(",")]
    results: dict[tuple[str, int], list[dict[str, object]]] = {}
    for round_ in range(1, args.rounds + 1):
        for arm in arms:
            for name, tree in trees:
                before = loadavg()
                got = measure(tree, arm, args.messages, args.timeout)
                results.setdefault((name, arm), []).append(got)
                print(
                    f"round {round_} {name:9} greylist {arm:>2}%: {got['seconds']:>7}s"
                    f" sent {got['sent']}/{args.messages} deferred {got['deferred']}"
                    f" throttled {got['throttles'] if got['throttles'] is not None else '?'}x"
                    f"{' (timed out)' if got['timed_out'] else ''}"
                    f"  load {before}->{loadavg()}",
                    flush=True,
                )
    print("medians:")
    for (name, arm), runs in results.items():
        seconds = statistics.median(float(str(r["seconds"])) for r in runs)
        sent = statistics.median(int(str(r["sent"])) for r in runs)
        print(f"  {name:9} greylist {arm:>2}%: {seconds:.1f}s, {sent:.0f} sent ({len(runs)} runs)")


if __name__ == "__main__":
    main()
