"""CPU per message of the send stage alone: pre-rendered digests through the send loop.

    .venv/bin/python bench/send_stage_cpu.py --n 3000 --rounds 5
    .venv/bin/python bench/send_stage_cpu.py --n 3000 --rounds 1 --profile out.prof
    .venv/bin/python bench/send_stage_cpu.py --arm null        # the send loop without SMTP
    .venv/bin/python bench/send_stage_cpu.py --arm smtp-only   # the SMTP client alone
    .venv/bin/python bench/send_stage_cpu.py --concurrency 8   # connections per process

One sender process (``SEND_PROCESSES=1``, ``SMTP_CONCURRENCY`` 4 unless ``--concurrency``:
the per-process default), a SQLite ledger of N queued readers, and N messages of about 40 KB built
before the clock starts (CRLF, quoted-printable lines of 76 characters, some lines
starting with a dot, a VERP return path: the shape of a real digest), sent by
``outbox.send.send_edition`` to Postfix's ``smtp-sink`` on 127.0.0.1 (its own process, so
its CPU is not counted). Prints this process's CPU (``time.process_time``) per message
for each round and the median: the ledger claim, data-start mark and ``sent``, the SMTP
client, the limiter and the event loop; rendering is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import seed, smtp_settings, utcnow
from bench.send_bench import free_port, start_sink
from newsletter.deliver import open_transport
from newsletter.deliver.smtp import SmtpTransport
from newsletter.models import DataHook, Message, SendResult, Subscriber
from newsletter.outbox.send import send_edition
from newsletter.store import locks
from newsletter.store.db import Store

BODY_LINES = 560  # x ~70 bytes: about 40 KB (the average digest of bench/send_bench.py: 43.5 KiB)


def body(i: int) -> bytes:
    """A digest-shaped body: header block, then QP lines (some starting with a dot)."""
    lines = []
    for n in range(BODY_LINES):
        if n % 97 == 5:
            lines.append(f".a line that starts with a dot, reader {i}, line {n}")
        else:
            lines.append(f'<td style=3D"padding:0 8px">paper {n} for reader {i:06d} =E2=80=94 x=')
    return "\r\n".join(lines).encode() + b"\r\n"


def message(sub: Subscriber) -> Message:
    head = (
        f"From: Daily Papers <papers@example.org>\r\nTo: {sub.email}\r\n"
        f"Subject: Papers for you\r\nMessage-ID: <d.{sub.id}@example.org>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode()
    return Message(
        subscriber_id=sub.id,
        to=sub.email,
        sender="Daily Papers <papers@example.org>",
        message_id=f"<d.{sub.id}@example.org>",
        subject="Papers for you",
        data=head + body(sub.id),
        return_path=f"bounces+{sub.id}-x7k2@example.org",
    )


class NullTransport:
    """Accepts every message at once, after the ledger's mark: the send loop without SMTP."""

    async def __aenter__(self) -> NullTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(
        self, message: Message, *, on_data: DataHook | None = None, then: Message | None = None
    ) -> SendResult:
        if on_data is not None and not await on_data():
            return SendResult("deferred", None, "not owned", stage="data")
        return SendResult("sent", 250, "2.0.0 Ok: queued", stage="body")


async def smtp_only(n: int, port: int, profile: cProfile.Profile | None) -> float:
    """CPU ms per message of the SMTP client alone: ``SmtpTransport.send`` of n messages,
    at most 4 at once (its pool), no ledger, no send loop."""
    settings = smtp_settings(port, smtp_timeout=30.0, message_timeout=60.0, smtp_concurrency=4)
    built = [message(Subscriber(i, f"reader{i:05d}@example.test", f"R {i}")) for i in range(n)]
    cpu = time.process_time()
    if profile is not None:
        profile.enable()
    async with SmtpTransport(settings) as transport:
        results = await asyncio.gather(*(transport.send(m) for m in built))
    if profile is not None:
        profile.disable()
    cpu = time.process_time() - cpu
    assert all(r.state == "sent" for r in results)
    return cpu * 1000 / n


async def one_round(
    n: int, port: int, profile: cProfile.Profile | None, arm: str, concurrency: int = 4
) -> float:
    """CPU ms per message of one send of ``n`` messages."""
    if arm == "smtp-only":
        return await smtp_only(n, port, profile)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store.open(url, now=utcnow())
        edition = seed(store, n)
        settings = smtp_settings(
            port,
            database_url=url,
            smtp_concurrency=concurrency,
            send_batch_size=50,
            send_processes=1,
            smtp_timeout=30.0,
            message_timeout=60.0,
        )
        built: dict[int, Message] = {}

        def personalize(subs: Sequence[Subscriber]) -> list[Message]:
            out = []
            for s in subs:
                m = built.pop(s.id, None)
                out.append(m if m is not None else message(s))
            return out

        # Build every message before the clock starts (render is not measured here).
        from newsletter.store import subscribers as subs_store

        with store.begin() as conn:
            for sub in subs_store.get_many(conn, list(range(1, n + 1))).values():
                built[sub.id] = message(sub)
        cpu, wall = time.process_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        transport = NullTransport() if arm == "null" else open_transport(settings, None)
        async with transport:
            report = await send_edition(
                store,
                settings,
                edition,
                personalize,
                transport,
                worker=locks.holder_id(),
                clock=utcnow,
            )
        if profile is not None:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"  {n / wall:.0f} msg/s wall, {concurrency} connections")
        assert report.sent_now == n, report.summary()
        store.close()
    return cpu * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--concurrency", type=int, default=4, help="SMTP_CONCURRENCY")
    parser.add_argument(
        "--arm",
        choices=["send", "null", "smtp-only"],
        default="send",
        help="send: the send loop to smtp-sink; null: the send loop, no SMTP (a transport "
        "that accepts at once); smtp-only: SmtpTransport alone, no ledger or loop",
    )
    args = parser.parse_args()
    port = free_port()
    sink = start_sink(port)
    profile = cProfile.Profile(time.process_time) if args.profile else None
    try:
        results = []
        for r in range(args.rounds):
            ms = asyncio.run(one_round(args.n, port, profile, args.arm, args.concurrency))
            results.append(ms)
            print(f"round {r + 1}: {ms:.3f} ms CPU per message (load {os.getloadavg()[0]:.1f})")
    finally:
        sink.terminate()
        sink.wait()
    print(f"median {statistics.median(results):.3f} ms CPU per message over {args.rounds} rounds")
    if profile is not None:
        profile.dump_stats(str(args.profile))


if __name__ == "__main__":
    main()
