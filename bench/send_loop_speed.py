"""Throughput of the send loop against a local aiosmtpd sink (SQLite ledger).

    .venv/bin/python -m bench.send_loop_speed [N] [RUNS]

Prints messages/second per run and the median. The sink runs in a thread of the
same process, so the numbers are a lower bound on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._support import SmtpServer, compose, seed, smtp_settings, utcnow
from newsletter.deliver import open_transport
from newsletter.outbox.send import send_edition
from newsletter.store import locks
from newsletter.store.db import Store


async def one_run(n: int) -> float:
    server = SmtpServer.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            store = Store.open(url, now=utcnow())
            edition = seed(store, n)
            settings = smtp_settings(server.port, database_url=url, smtp_concurrency=4)
            started = time.perf_counter()
            async with open_transport(settings) as transport:
                report = await send_edition(
                    store,
                    settings,
                    edition,
                    compose,
                    transport,
                    worker=locks.holder_id(),
                    clock=utcnow,
                )
            elapsed = time.perf_counter() - started
            assert report.sent_now == n
            store.close()
    finally:
        server.stop()
    return n / elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rates = [asyncio.run(one_run(n)) for _ in range(runs)]
    for rate in rates:
        print(f"{n} messages: {rate:.0f} msg/s")
    print(f"median {statistics.median(rates):.0f} msg/s over {runs} runs")


if __name__ == "__main__":
    main()
