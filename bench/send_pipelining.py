"""PIPELINING (RFC 2920) against one command at a time: the SMTP client alone.

    .venv/bin/python bench/send_pipelining.py --messages 4000 --rounds 5 --concurrency 4

The same prebuilt messages go through ``SmtpTransport`` to two Postfix ``smtp-sink``s on
127.0.0.1, one offering PIPELINING and one not (``-p``), in interleaved rounds; medians of
the rate and of the client's CPU per message (this process: the client, its event loop
and the ledger-free send path; the sinks run in their own processes). Justifies the
project's own ``deliver/pipelining.py`` (no Python SMTP library pipelines).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import address, build_message
from bench.send_bench import free_port
from newsletter.config import Settings
from newsletter.deliver.smtp import SmtpTransport
from newsletter.models import Message, Subscriber


def start_sink(port: int, *options: str) -> subprocess.Popen[bytes]:
    sink = subprocess.Popen(
        ["/usr/sbin/smtp-sink", "-u", "nobody", *options, f"127.0.0.1:{port}", "256"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return sink


async def send_all(
    port: int, messages: list[Message], concurrency: int
) -> tuple[float, float, int]:
    """(messages/s, client CPU ms per message, envelopes pipelined)."""
    settings = Settings(
        _env_file=None,
        delivery="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_concurrency=concurrency,
        secret_key="bench",
    )
    wall, cpu = time.perf_counter(), time.process_time()
    async with SmtpTransport(settings) as transport:
        results = await asyncio.gather(*(transport.send(m) for m in messages))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert all(r.state == "sent" for r in results), {r.text for r in results}
    return len(messages) / wall, cpu * 1000 / len(messages), transport.pipelined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    messages = [build_message(Subscriber(id=i + 1, email=address(i))) for i in range(args.messages)]
    ports = {"pipelined": free_port(), "one by one": free_port()}
    sinks = [start_sink(ports["pipelined"]), start_sink(ports["one by one"], "-p")]
    rates: dict[str, list[float]] = {k: [] for k in ports}
    cpus: dict[str, list[float]] = {k: [] for k in ports}
    try:
        for round_no in range(1, args.rounds + 1):
            for arm, port in ports.items():
                rate, cpu, grouped = asyncio.run(send_all(port, messages, args.concurrency))
                assert (grouped == len(messages)) == (arm == "pipelined")
                rates[arm].append(rate)
                cpus[arm].append(cpu)
                print(f"round {round_no} {arm:10s} {rate:7.0f} msg/s  {cpu:.3f} ms CPU/msg")
    finally:
        for sink in sinks:
            sink.terminate()
            sink.wait()
    one, five, _ = os.getloadavg()
    print(
        f"\n{args.messages} messages of {len(messages[0].data)} bytes, "
        f"SMTP_CONCURRENCY={args.concurrency}, {args.rounds} rounds; load {one:.1f}/{five:.1f}"
    )
    print("| client | median msg/s | CPU per message |\n|---|---|---|")
    for arm in ports:
        print(
            f"| {arm} | {statistics.median(rates[arm]):,.0f} | "
            f"{statistics.median(cpus[arm]):.3f} ms |"
        )
    ratio = statistics.median(rates["pipelined"]) / statistics.median(rates["one by one"])
    print(f"pipelined / one by one: x{ratio:.2f}")


if __name__ == "__main__":
    main()
