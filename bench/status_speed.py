"""How long ``newsletter status`` takes to gather its snapshot on a big install.

    .venv/bin/python bench/status_speed.py                 # 5,000 subscribers, 10 editions (50,000 ledger rows)
    .venv/bin/python bench/status_speed.py --subscribers 5000 --editions 10 --runs 7
    .venv/bin/python bench/status_speed.py --database-url postgresql://postgres@127.0.0.1/test

Fills a fresh database through the store (every subscriber in every edition's ledger,
mostly sent, some deferred and failed, plus one run and source row per edition), then
times ``gather`` (what ``status`` and ``status --json`` print) several times and reports
the median, minimum and maximum.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newsletter.config import Settings
from newsletter.deliver import SendResult
from newsletter.models import Paper
from newsletter.ops.status import gather
from newsletter.store import editions, ledger, locks, runs, subscribers
from newsletter.store.db import Store

START = dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC)
PAPERS = tuple(
    Paper(arxiv_id=f"2610.{i:05d}", title=f"Paper {i}", abstract="An abstract. " * 40)
    for i in range(150)
)


def fill(store: Store, people: int, days: int) -> None:
    with store.begin() as conn:
        ids = [subscribers.add(conn, f"r{i}@example.org", now=START).id for i in range(people)]
    for day in range(days):
        now = START + dt.timedelta(days=day)
        with store.begin() as conn:
            edition = editions.freeze(conn, now.date(), PAPERS, sources=["hf_daily"], now=now)
            ledger.enqueue(conn, edition.id, ids, now)
            locks.take_lease(conn, "bench", 600)
            for row in ledger.claim(conn, edition.id, "bench", people, now):
                if row.subscriber_id % 97 == 0:
                    result = SendResult("deferred", 451, "4.7.1 try later")
                elif row.subscriber_id % 89 == 0:
                    result = SendResult("failed", 550, "5.1.1 no such user")
                else:
                    result = SendResult("sent", 250, "2.0.0 ok")
                ledger.record(conn, row.id, result, now, worker="bench", next_attempt_at=now)
            run_id = runs.start(conn, "run", now.date(), now)
            runs.record_sources(conn, [("hf_daily", True, len(PAPERS), "")], now)
            counts = ledger.counts(conn, edition.id)
            runs.finish(conn, run_id, outcome="ok", summary="done", counts=counts, now=now)


@contextmanager
def scratch(url: str | None, folder: str) -> Iterator[str]:
    """A SQLite file in ``folder``, or a new PostgreSQL schema dropped afterwards."""
    if url is None:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{plain}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=5_000)
    parser.add_argument("--editions", type=int, default=10)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, scratch(args.database_url, folder) as url:
        store = Store.open(url, now=START)
        started = time.perf_counter()
        fill(store, args.subscribers, args.editions)
        print(
            f"filled {args.subscribers} subscribers x {args.editions} editions "
            f"in {time.perf_counter() - started:.1f}s ({store.engine.dialect.name})"
        )
        settings = Settings(_env_file=None, database_url=url, sources="hf_daily")
        now = START + dt.timedelta(days=args.editions)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            with store.begin() as conn:
                gather(conn, settings, now, run_limit=5, edition_limit=3)
            times.append(time.perf_counter() - t0)
        store.close()
    ms = [t * 1000 for t in times]
    print(
        f"gather: median {statistics.median(ms):.1f} ms, min {min(ms):.1f} ms, "
        f"max {max(ms):.1f} ms over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
