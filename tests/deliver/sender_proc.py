"""A sender process for crash, pause and multi-worker tests.

    python -m tests.deliver.sender_proc DATABASE_URL SMTP_PORT WORKER POLICY [CONCURRENCY]
        [--lease SECONDS] [--skew SECONDS] [--batch N]

Sends the latest edition with the test composer and prints the report as JSON. ``--skew``
runs the sender's clock seam that many seconds ahead of the machine's (a worker on a
machine whose clock is wrong). A ``NewsletterError`` is one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys

from newsletter.deliver import open_transport
from newsletter.errors import NewsletterError
from newsletter.outbox.send import send_edition
from newsletter.store import editions, locks
from newsletter.store.db import Store
from tests.support.delivery import compose, smtp_settings, utcnow


async def main(args: argparse.Namespace) -> None:
    settings = smtp_settings(
        args.port,
        database_url=args.url,
        unknown_policy=args.policy,
        smtp_concurrency=args.concurrency,
        worker_lease=args.lease,
        smtp_timeout=10.0,
        message_timeout=20.0,
        send_batch_size=args.batch,
    )
    skew = dt.timedelta(seconds=args.skew)

    def clock() -> dt.datetime:
        return utcnow() + skew

    store = Store.open(args.url, now=clock())
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
            worker=locks.holder_id(args.worker),
            clock=clock,
        )
    print(
        json.dumps(
            {"sent_now": report.sent_now, "counts": report.counts, "finished": report.finished}
        )
    )


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("port", type=int)
    parser.add_argument("worker")
    parser.add_argument("policy")
    parser.add_argument("concurrency", type=int, nargs="?", default=4)
    parser.add_argument("--lease", type=float, default=5.0)
    parser.add_argument("--skew", type=float, default=0.0)
    parser.add_argument("--batch", type=int, default=20)
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        asyncio.run(main(parse(sys.argv[1:])))
    except NewsletterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
