"""A Maildir sender in a process whose files may not grow past a limit (RLIMIT_FSIZE).

    python -m tests.deliver.maildir_proc OUTBOX FSIZE_BYTES HTML_BYTES DATABASE_URL
    python -m tests.deliver.maildir_proc OUTBOX FSIZE_BYTES HTML_BYTES - COUNT

A write past the limit fails with EFBIG, a real OS error like a full disk (Python ignores
SIGXFSZ, so the write returns the error instead of killing the process). With a database
URL it sends the latest edition with ``send_edition`` and prints the report as JSON;
with ``-`` it sends COUNT messages straight through the transport and prints their results.
"""

from __future__ import annotations

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
from newsletter.send import send_edition
from newsletter.store import editions, locks
from newsletter.store.db import Store
from tests.deliver.helpers import address, build_message, utcnow


def composer(html_bytes: int) -> object:
    def compose(subs: Sequence[Subscriber]) -> list[Message]:
        big = "<p>" + "x" * html_bytes + "</p>"
        return [replace(build_message(s), html=big) for s in subs]

    return compose


async def main(outbox: Path, limit: int, html_bytes: int, url: str, count: int) -> None:
    settings = Settings(
        _env_file=None,
        delivery="maildir",
        outbox_dir=outbox,
        database_url=url if url != "-" else "sqlite://",
        retry_base_delay=0.05,
        retry_in_run_max_wait=0.5,
        worker_lease=30.0,
    )
    compose = composer(html_bytes)
    store = Store.open(url, now=utcnow()) if url != "-" else None
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    async with open_transport(settings) as transport:
        if store is None:
            subs = [Subscriber(id=i + 1, email=address(i), name=f"R{i}") for i in range(count)]
            results = [await transport.send(m) for m in compose(subs)]  # type: ignore[operator]
            print(json.dumps([[r.state, r.text] for r in results]))
            return
        with store.begin() as conn:
            edition = editions.latest(conn)
        assert edition is not None
        report = await send_edition(
            store,
            settings,
            edition,
            compose,  # type: ignore[arg-type]
            transport,
            worker=locks.holder_id("maildir"),
            clock=utcnow,
        )
    print(json.dumps({"counts": report.counts, "sent_now": report.sent_now}))


if __name__ == "__main__":
    outbox, limit, html_bytes, url = (
        Path(sys.argv[1]),
        int(sys.argv[2]),
        int(sys.argv[3]),
        sys.argv[4],
    )
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    asyncio.run(main(outbox, limit, html_bytes, url, count))
