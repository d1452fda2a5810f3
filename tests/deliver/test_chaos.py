"""The chaos test, short and seeded: every fault of issue 12 in a few rounds, per database.

``tests/deliver/chaos.py`` has the rounds and the invariant; ``bench/chaos.py`` runs many
more (figures in the README, section Delivery).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.deliver.chaos import RoundResult, run_rounds
from tests.support.databases import fresh_postgres_schema
from tests.support.needs import need

SEED = 20261126
READERS = 200


def sqlite_databases(tmp_path: Path) -> object:
    counter = itertools.count()

    @contextmanager
    def fresh() -> Iterator[str]:
        yield f"sqlite:///{tmp_path / f'chaos-{next(counter)}.db'}"

    return fresh


def check(results: list[RoundResult]) -> None:
    for result in results:
        print(result.line())
    violations = [f"{r.kind}: {v}" for r in results for v in r.violations]
    assert violations == []


def test_chaos_on_sqlite(tmp_path: Path) -> None:
    need(shutil.which("faketime"), "faketime not installed (apt package faketime)")
    results = list(
        run_rounds(
            sqlite_databases(tmp_path),  # type: ignore[arg-type]
            tmp_path,
            rounds=3,
            seed_value=SEED,
            readers=READERS,
            scenarios=("kill9", "pause"),
            maildir_every=3,
        )
    )
    check(results)
    faults = sum((r.faults for r in results), start=type(results[0].faults)())
    assert {"kill -9", "SIGSTOP past the lease", "second sender", "next day's run"} <= set(faults)
    assert faults["malformed reply to the final dot"] and faults["drop after the final dot"]
    assert faults["greylisted once"] and faults["deferred all day"]
    assert faults["message too big for the disk"] and faults["HTML copy too big for the disk"]


@pytest.mark.postgres
def test_chaos_on_postgresql(tmp_path: Path) -> None:
    need(shutil.which("faketime"), "faketime not installed (apt package faketime)")
    results = list(
        run_rounds(
            fresh_postgres_schema,
            tmp_path,
            rounds=2,
            seed_value=SEED,
            readers=READERS,
            scenarios=("skew", "pause"),
            maildir_every=0,
        )
    )
    check(results)
    faults = sum((r.faults for r in results), start=type(results[0].faults)())
    assert {"clock skew 5 min", "SIGSTOP past the lease", "second sender"} <= set(faults)
