"""A sender process for crash and multi-worker tests.

    python -m tests.deliver.sender_proc DATABASE_URL SMTP_PORT WORKER POLICY [CONCURRENCY]

Sends the latest edition with the test composer and prints the report as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys

from newsletter.deliver import open_transport
from newsletter.send import send_edition
from newsletter.store import editions, locks
from newsletter.store.db import Store
from tests.deliver.helpers import compose, smtp_settings, utcnow


async def main(url: str, port: int, worker: str, policy: str, concurrency: int) -> None:
    settings = smtp_settings(
        port,
        database_url=url,
        unknown_policy=policy,
        smtp_concurrency=concurrency,
        worker_lease=5.0,
        smtp_timeout=10.0,
        message_timeout=20.0,
    )
    store = Store.open(url, now=utcnow())
    with store.begin() as conn:
        edition = editions.latest(conn)
    assert edition is not None
    async with open_transport(settings) as transport:
        report = await send_edition(
            store,
            settings,
            edition,
            compose,
            transport,
            worker=locks.holder_id(worker),
            clock=utcnow,
        )
    print(
        json.dumps(
            {"sent_now": report.sent_now, "counts": report.counts, "finished": report.finished}
        )
    )


if __name__ == "__main__":
    url, port, worker, policy = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    concurrency = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    asyncio.run(main(url, port, worker, policy, concurrency))
