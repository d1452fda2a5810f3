"""Fast everyday commands (issue 14, item 7): ``newsletter --help`` and ``status`` import
only what they use. Before, every command imported the whole pipeline, scipy included
(2.4 s to print the help). Time is measured in ``bench/startup_speed.py``; these tests
check what is imported, which does not depend on the machine's load."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from newsletter.cli import main
from newsletter.cli.base import COMMANDS
from newsletter.store.db import Store
from newsletter.store.migrations import MIGRATIONS
from newsletter.store.status_sqlite import SCHEMA

HEAVY = ("scipy", "numpy", "jinja2", "mjml", "sklearn", "httpx", "aiosmtplib", "uvicorn")

PROBE = """
import datetime as dt
import json
import sys
from newsletter.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(code, json.dumps(sorted(sys.modules)))
"""

# What `status` on SQLite with a current schema does not import: it reads the database with
# sqlite3 (newsletter.store.status_sqlite) and its few settings without pydantic
# (newsletter.status_settings); together these cost about 0.7 s of CPU on a busy machine.
NOT_FOR_STATUS = (
    "sqlalchemy",
    "pydantic",
    "pydantic_settings",
    "pydantic_core",
    "email_validator",
    "newsletter.config",
    "newsletter.addresses",
    "newsletter.store.db",
    "newsletter.store.ledger",
    "newsletter.store.locks",
    "newsletter.pipeline",
    "newsletter.deliver",
)


def imported_by(*args: str) -> tuple[object, set[str], set[str]]:
    """The exit code, the top-level packages and the full module names a fresh interpreter
    has imported after running ``newsletter *args``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    code, _, names = done.stdout.strip().splitlines()[-1].partition(" ")
    modules = set(json.loads(names))
    return code, {name.split(".")[0] for name in modules}, modules


def test_help_imports_no_command_and_no_heavy_library() -> None:
    code, modules, _ = imported_by("--help")
    assert code == "0"
    assert modules.isdisjoint(HEAVY), modules & set(HEAVY)
    assert modules.isdisjoint({"sqlalchemy", "pydantic", "pydantic_settings"})


@pytest.mark.parametrize(
    "options", [[], ["--json"], ["--check"], ["--runs", "2", "--editions", "1"]]
)
@pytest.mark.parametrize("verbose", [[], ["-v"], ["-q"]])
def test_status_on_sqlite_imports_neither_sqlalchemy_nor_pydantic(
    tmp_path: Path, options: list[str], verbose: list[str]
) -> None:
    env = tmp_path / "status.env"
    url = f"sqlite:///{tmp_path / 'status.db'}"
    env.write_text(f"NEWSLETTER_DATABASE_URL={url}\nNEWSLETTER_FROM=Papers <p@example.org>\n")
    Store.open(url, now=dt.datetime.now(dt.UTC)).close()  # status reads a database; it makes none
    code, modules, names = imported_by(*verbose, "--env-file", str(env), "status", *options)
    assert code == ("2" if options == ["--check"] else "0")  # --check: "no run recorded yet"
    assert modules.isdisjoint(HEAVY), modules & set(HEAVY)
    loaded = {n for n in names if any(n == m or n.startswith(m + ".") for m in NOT_FOR_STATUS)}
    assert not loaded, loaded


def test_status_with_a_migration_pending_goes_through_the_store(tmp_path: Path) -> None:
    """An older database: status opens the store as every command does, which migrates it
    (and checks every setting), then shows the same snapshot."""
    env = tmp_path / "status.env"
    url = f"sqlite:///{tmp_path / 'status.db'}"
    env.write_text(f"NEWSLETTER_DATABASE_URL={url}\n")
    store = Store.open(url, now=dt.datetime.now(dt.UTC), migrate=False)
    store.upgrade(dt.datetime.now(dt.UTC), until="m040_subscribers_email_lower_index")
    store.close()
    code, modules, _ = imported_by("--env-file", str(env), "status")
    assert code == "0"
    assert "sqlalchemy" in modules and "pydantic_settings" in modules
    store = Store.open(url, now=dt.datetime.now(dt.UTC), migrate=False)
    assert store.pending_migrations() == []
    store.close()


def test_the_fast_reader_knows_every_migration() -> None:
    """status reads with sqlite3 only a database whose migrations are exactly these."""
    assert tuple(name for name, _ in MIGRATIONS) == SCHEMA


def test_the_lazy_table_matches_the_commands() -> None:
    """Each entry names the module that defines the command, with its own first line."""
    ctx = click.Context(main)
    assert main.list_commands(ctx) == sorted(COMMANDS)
    for name, (module, line) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.callback is not None, name
        assert command.callback.__module__ == module, name
        assert command.get_short_help_str(limit=500) == line, name


# What `newsletter run` does not import before it needs it (issue 18, item 5): the reply
# mailbox's parsers (imported when IMAP_HOST is set) and SQLAlchemy's PostgreSQL dialect
# (imported on use, on PostgreSQL): 71 modules, about 0.2 s of CPU of every run's start.
NOT_FOR_RUN = ("newsletter.inbox", "flufl", "sqlalchemy.dialects.postgresql")


def test_run_imports_neither_the_inbox_nor_postgresql_until_needed() -> None:
    code, _, names = imported_by("run", "--help")
    assert code == "0"
    assert "newsletter.pipeline" in names and "newsletter.outbox.send" in names
    loaded = {n for n in names if any(n == m or n.startswith(m + ".") for m in NOT_FOR_RUN)}
    assert not loaded, loaded
