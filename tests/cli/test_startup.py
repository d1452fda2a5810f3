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

from newsletter.cli import main
from newsletter.cli.base import COMMANDS
from newsletter.store.db import Store

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

# What `status` on SQLite does not use: the PostgreSQL dialect (about 50 ms to import; the
# ledger and lock writers load it only when they write to PostgreSQL), and the store's
# writers, which pull in the lock machinery. Status reads.
NOT_FOR_STATUS = (
    "sqlalchemy.dialects.postgresql",
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


def test_status_imports_the_store_but_not_the_pipeline(tmp_path: Path) -> None:
    env = tmp_path / "status.env"
    url = f"sqlite:///{tmp_path / 'status.db'}"
    env.write_text(f"NEWSLETTER_DATABASE_URL={url}\n")
    Store.open(url, now=dt.datetime.now(dt.UTC)).close()  # status reads a database; it makes none
    code, modules, names = imported_by("--env-file", str(env), "status")
    assert code == "0"
    assert "sqlalchemy" in modules
    assert modules.isdisjoint(HEAVY), modules & set(HEAVY)
    loaded = {n for n in names if any(n == m or n.startswith(m + ".") for m in NOT_FOR_STATUS)}
    assert not loaded, loaded


def test_the_lazy_table_matches_the_commands() -> None:
    """Each entry names the module that defines the command, with its own first line."""
    ctx = click.Context(main)
    assert main.list_commands(ctx) == sorted(COMMANDS)
    for name, (module, line) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.callback is not None, name
        assert command.callback.__module__ == module, name
        assert command.get_short_help_str(limit=500) == line, name
