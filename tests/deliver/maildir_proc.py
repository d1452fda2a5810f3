"""A Maildir sender in a process whose files may not grow past a limit (RLIMIT_FSIZE).

    python -m tests.deliver.maildir_proc OUTBOX FSIZE_BYTES HTML_BYTES DATABASE_URL
        [--big-message ID,ID...] [--big-html ID,ID...]
    python -m tests.deliver.maildir_proc OUTBOX FSIZE_BYTES HTML_BYTES - COUNT

A write past the limit fails with EFBIG, a real OS error like a full disk (Python ignores
SIGXFSZ, so the write returns the error instead of killing the process). ``FSIZE_BYTES``
0: no limit. Every message's HTML copy has ``HTML_BYTES`` of text; ``--big-message`` and
``--big-html`` make those subscribers' message or HTML copy 1 MiB bigger than the limit
(2 MiB without one). With a database URL it
sends the latest edition with ``send_edition`` and prints the report as JSON; with ``-``
it sends COUNT messages straight through the transport and prints their results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from newsletter.config import Settings
from newsletter.deliver import open_transport
from newsletter.models import Message, Subscriber
from newsletter.outbox.send import SendReport, send_edition
from newsletter.store import editions, locks
from newsletter.store.db import Store
from tests.support.delivery import address, build_message, utcnow

MiB = 1024 * 1024


def composer(html_bytes: int, big_message: set[int], big_html: set[int], big: int) -> object:
    def compose(subs: Sequence[Subscriber]) -> list[Message]:
        messages = []
        for sub in subs:
            message = build_message(sub)
            size = big if sub.id in big_html else html_bytes
            message = replace(message, html="<p>" + "x" * size + "</p>")
            if sub.id in big_message:
                padding = b"X-Padding: " + b"p" * 70 + b"\r\n"
                message = replace(message, data=padding * (big // len(padding)) + message.data)
            messages.append(message)
        return messages

    return compose


async def main(args: argparse.Namespace) -> None:
    settings = Settings(
        _env_file=None,
        delivery="maildir",
        outbox_dir=args.outbox,
        database_url=args.url if args.url != "-" else "sqlite://",
        retry_base_delay=0.05,
        retry_in_run_max_wait=0.5,
        worker_lease=30.0,
    )
    big = args.limit + MiB if args.limit else 2 * MiB
    compose = composer(args.html_bytes, args.big_message, args.big_html, big)
    store = Store.open(args.url, now=utcnow()) if args.url != "-" else None
    if args.limit:
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.limit, args.limit))
    async with open_transport(settings) as transport:
        if store is None:
            subs = [Subscriber(id=i + 1, email=address(i), name=f"R{i}") for i in range(args.count)]
            results = [await transport.send(m) for m in compose(subs)]  # type: ignore[operator]
            print(json.dumps([[r.state, r.text] for r in results]))
            return
        with store.begin() as conn:
            edition = editions.latest(conn)
        assert edition is not None
        report: SendReport = await send_edition(
            store,
            settings,
            edition,
            compose,  # type: ignore[arg-type]
            transport,
            worker=locks.holder_id("maildir"),
            clock=utcnow,
        )
    print(json.dumps({"counts": report.counts, "sent_now": report.sent_now}))


def ids(text: str) -> set[int]:
    return {int(i) for i in text.split(",") if i}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("outbox", type=Path)
    parser.add_argument("limit", type=int)
    parser.add_argument("html_bytes", type=int)
    parser.add_argument("url")
    parser.add_argument("count", type=int, nargs="?", default=0)
    parser.add_argument("--big-message", type=ids, default=set())
    parser.add_argument("--big-html", type=ids, default=set())
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))
