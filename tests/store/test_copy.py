from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import main
from newsletter.errors import StoreError
from newsletter.models import Paper, Profile
from newsletter.store import editions, feedback, ledger, subscribers
from newsletter.store.copy import copy_database
from newsletter.store.db import Store
from tests.support.databases import fresh_postgres_schema

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


def fill(store: Store) -> None:
    with store.begin() as conn:
        ada = subscribers.add(conn, "ada@example.org", now=NOW, profile=Profile(("LoRA",)))
        bob = subscribers.add(conn, "bob@example.org", now=NOW)
        subscribers.set_status(conn, bob.id, "unsubscribed", now=NOW)
        edition = editions.freeze(
            conn, NOW.date(), [Paper("2611.00001", "T", "A.")], sources=["sample"], now=NOW
        )
        ledger.enqueue(conn, edition.id, [ada.id], NOW)
        feedback.record(conn, ada.id, "2611.00001", 1, NOW)


def test_copy_sqlite_to_postgresql_keeps_everything_and_new_ids_follow(tmp_path: Path) -> None:
    source = Store.open(f"sqlite:///{tmp_path / 'old.db'}", now=NOW)
    fill(source)
    with fresh_postgres_schema() as url:
        target = Store.open(url, now=NOW)
        copied = copy_database(source, target, NOW)
        assert copied["subscribers"] == 2 and copied["ledger"] == 1 and copied["feedback"] == 1
        with source.begin() as old, target.begin() as new:
            assert subscribers.list_all(new) == subscribers.list_all(old)
            assert editions.latest(new) == editions.latest(old)
            assert feedback.for_subscribers(new, [1]) == feedback.for_subscribers(old, [1])
            assert ledger.counts(new, 1) == ledger.counts(old, 1)
            # The id sequence moved past the copied rows.
            carl = subscribers.add(new, "carl@example.org", now=NOW)
        assert carl.id == 3
        with pytest.raises(StoreError, match="not empty"):
            copy_database(source, target, NOW)
        target.close()


def test_db_copy_command(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    runner.invoke(main, ["subscribers", "add", "ada@example.org"], env=env)
    result = runner.invoke(main, ["db", "copy", f"sqlite:///{tmp_path / 'b.db'}"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("copied ")
    assert "subscribers 1" in result.stdout
    again = runner.invoke(main, ["db", "copy", f"sqlite:///{tmp_path / 'b.db'}"], env=env)
    assert again.exit_code == 1
    assert again.stderr.startswith("error: the target database is not empty")


@pytest.mark.parametrize("target_kind", ["postgresql", "sqlite"])
def test_an_id_removed_before_the_copy_is_not_given_out_after_it(
    tmp_path: Path, target_kind: str
) -> None:
    """The highest id was removed before the copy: the copy still never gives it out again
    (README: a removed subscriber's id is never given out again)."""
    source = Store.open(f"sqlite:///{tmp_path / 'old.db'}", now=NOW)
    with source.begin() as conn:
        for name in ("ada", "bob", "carl"):
            subscribers.add(conn, f"{name}@example.org", now=NOW)
        subscribers.remove(conn, "carl@example.org")
    with (
        fresh_postgres_schema()
        if target_kind == "postgresql"
        else nullcontext(f"sqlite:///{tmp_path / 'new.db'}")
    ) as url:
        target = Store.open(url, now=NOW)
        copy_database(source, target, NOW)
        with target.begin() as new:
            dave = subscribers.add(new, "dave@example.org", now=NOW)
        target.close()
    assert dave.id == 4
