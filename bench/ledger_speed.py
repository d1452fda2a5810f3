"""CPU per message of the send loop's ledger writes: SQLAlchemy Core (``store.ledger``)
against SQL text on the driver's cursor (``store.ledger_hot``), interleaved.

    .venv/bin/python bench/ledger_speed.py --n 4000 --rounds 5
    .venv/bin/python bench/ledger_speed.py --db postgresql://postgres@127.0.0.1:5432/test

Each round seeds a fresh database with N queued rows and sends them as the send loop does
(claim ``SEND_BATCH_SIZE`` rows, mark them in groups of ``--marks`` as they reach DATA,
record them ``sent`` in groups of ``FLUSH_EVERY``, a transaction each) with each arm in
turn, the order rotated each round; prints the median CPU time per message of each arm and
their ratio. Only the ledger calls are timed (``time.process_time``: the database's own CPU
counts for SQLite, which runs in the process; PostgreSQL's server does not).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import seed
from newsletter.models import SendResult
from newsletter.outbox.sendbatch import FLUSH_EVERY
from newsletter.store import ledger, locks
from newsletter.store.db import Store
from newsletter.store.ledger_hot import HotLedger

OK = SendResult("sent", 250, "2.0.0 Ok: queued as 4ZxYz1abcd")


def one_arm(store: Store, hot: bool, batch: int, marks: int) -> tuple[float, int]:
    """Send every queued row of the store's edition; CPU seconds in ledger calls, rows."""
    with store.begin() as conn:
        locks.take_lease(conn, "w", 600)
    conn = store.engine.connect()
    spent, sent_rows = 0.0, 0
    try:
        with conn.begin():
            edition_id = int(conn.exec_driver_sql("SELECT max(id) FROM editions").scalar_one())
        way = HotLedger.of(conn) if hot else None
        while True:
            now = dt.datetime.now(dt.UTC)
            start = time.process_time()
            with conn.begin():
                rows = ledger.claim(conn, edition_id, "w", batch, now, hot=way)
            spent += time.process_time() - start
            if not rows:
                return spent, sent_rows
            ids = [r.id for r in rows]
            for at in range(0, len(ids), marks):
                start = time.process_time()
                with conn.begin():
                    group = ids[at : at + marks]
                    if way is not None:
                        way.mark_data_started_many(conn, group, now, worker="w")
                    else:
                        ledger.mark_data_started_many(conn, group, now, worker="w")
                spent += time.process_time() - start
            for at in range(0, len(ids), FLUSH_EVERY):
                results = [(i, OK, f"<digest.{i}@example.org>") for i in ids[at : at + FLUSH_EVERY]]
                start = time.process_time()
                with conn.begin():
                    if way is not None:
                        lost = way.record_sent_many(conn, results, now, worker="w")
                    else:
                        lost = ledger.record_sent_many(conn, results, now, worker="w")
                spent += time.process_time() - start
                assert not lost
                sent_rows += len(results)
    finally:
        conn.close()


def fresh(url: str | None, work: Path, name: str, n: int) -> Store:
    if url is None:
        store = Store.open(f"sqlite:///{work / name}.db", now=dt.datetime.now(dt.UTC))
    else:
        store = Store.open(url, now=dt.datetime.now(dt.UTC))
        with store.begin() as conn:
            for table in ("ledger", "editions", "subscribers", "locks"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
    seed(store, n)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--marks", type=int, default=4, help="rows marked per transaction")
    parser.add_argument("--db", default=None, help="a PostgreSQL URL it may empty (default SQLite)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ledger-speed-"))
    arms = {"sqlalchemy": False, "hot": True}
    per_message: dict[str, list[float]] = {name: [] for name in arms}
    for round_ in range(args.rounds):
        order = list(arms) if round_ % 2 == 0 else list(reversed(arms))
        for name in order:
            store = fresh(args.db, work, f"{name}{round_}", args.n)
            try:
                spent, rows = one_arm(store, arms[name], args.batch, args.marks)
            finally:
                store.close()
            assert rows == args.n, (name, rows)
            per_message[name].append(spent / rows * 1e6)
    print(f"{args.n} rows, {args.rounds} rounds, batch {args.batch}, marks of {args.marks}")
    print("| arm | median µs per message | rounds |\n|---|---|---|")
    for name, values in per_message.items():
        rounds = " / ".join(f"{v:.0f}" for v in values)
        print(f"| {name} | {statistics.median(values):.0f} | {rounds} |")
    ratio = statistics.median(per_message["hot"]) / statistics.median(per_message["sqlalchemy"])
    print(f"hot / sqlalchemy = {ratio:.2f}")


if __name__ == "__main__":
    main()
