"""Bad input gets one line, never a traceback (issue 12, items 8-10): a damaged database
for every command, ``doctor`` included; a ``.env`` that is not UTF-8."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from newsletter.cli import main
from newsletter.store import subscribers
from newsletter.store.db import Store

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
# The arguments each command needs to reach the database (a new command must be added).
ARGS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("db", "upgrade"): (),
    ("db", "status"): (),
    ("db", "copy"): ("sqlite:///target.db",),
    ("doctor",): (),
    ("edition", "recollect"): ("2026-11-26",),
    ("inbox",): (),
    # reads files, never the database: its one-line error is the missing file
    ("inbox", "classify"): ("missing.eml",),
    ("run",): ("--date", "2026-11-26"),
    ("preview",): (),
    ("demo",): (),
    ("send",): (),
    ("serve",): ("--port", "9"),
    ("status",): (),
    ("subscribers", "add"): ("new@example.org",),
    ("subscribers", "topics"): ("ada@example.org", "--topic", "x"),
    ("subscribers", "import"): ("people.csv",),
    ("subscribers", "export"): (),
    ("subscribers", "list"): (),
    ("subscribers", "remove"): ("ada@example.org",),
    ("subscribers", "unsubscribe"): ("ada@example.org",),
    ("subscribers", "pause"): ("ada@example.org",),
    ("subscribers", "resume"): ("ada@example.org",),
    ("subscribers", "reactivate"): ("ada@example.org",),
    ("subscribers", "show"): ("ada@example.org",),
}


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # imports lazily loaded commands (cli.base.COMMANDS)
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            if command.invoke_without_command:  # runs by itself too (``newsletter inbox``)
                yield (*prefix, name)
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def _damage(path: Path, how: str) -> None:
    """A real database, then: garbage over it, cut in half, or its pages overwritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(f"sqlite:///{path}", now=NOW)
    with store.begin() as conn:
        subscribers.add(conn, "ada@example.org", now=NOW)
    store.close()
    data = bytearray(path.read_bytes())
    if how == "garbage":
        data[:4096] = bytes(range(256)) * 16
    elif how == "truncated":
        data = data[: len(data) // 2]
    else:
        for offset in range(4096, len(data), 4096):
            data[offset : offset + 16] = b"\x0d" + b"\xff" * 15
    path.write_bytes(bytes(data))


def _invoke(args: tuple[str, ...], env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, ["--env-file", "/dev/null", *args], env=env)


def _assert_one_line(result: Result, command: tuple[str, ...]) -> str:
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"{command}: {result.exception!r}"
    assert result.exit_code != 0, command
    assert "Traceback" not in result.output, command
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    if command != ("doctor",):
        assert len(errors) == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.output


def test_every_command_is_listed() -> None:
    assert set(_commands(main)) == set(ARGS)


@pytest.mark.parametrize("how", ["garbage", "truncated", "overwritten"])
def test_a_damaged_database_is_one_line_for_every_command(tmp_path: Path, how: str) -> None:
    for path in (tmp_path / "db" / "newsletter.db", Path("subscribers") / "demo.db"):
        _damage(path, how)
    Path("people.csv").write_text("email,name,topics\nbob@example.org,Bob,x\n")
    env = {
        "NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'newsletter.db'}",
        "NEWSLETTER_SECRET_KEY": "one-line-errors-key",
        "NEWSLETTER_SOURCES": "sample",
        "NEWSLETTER_IMAP_HOST": "127.0.0.1",
        "NEWSLETTER_IMAP_PORT": "9",
        "NEWSLETTER_BASE_URL": "http://127.0.0.1:9",
    }
    seen = set()
    for command, args in ARGS.items():
        output = _assert_one_line(_invoke((*command, *args), env), command)
        seen.update(line for line in output.splitlines() if "database" in line)
    assert any(
        m in line
        for line in seen
        for m in ("file is not a database", "database disk image is malformed")
    ), seen
    doctor = _invoke(("doctor",), env)
    assert any(
        line.startswith("FAIL  database: database error:") for line in doctor.stdout.splitlines()
    )


def test_a_latin_1_env_file_is_one_line_naming_the_file_and_byte(tmp_path: Path) -> None:
    env_file = tmp_path / "latin1.env"
    env_file.write_bytes(
        b"NEWSLETTER_LIST_NAME=Papers\nNEWSLETTER_POSTAL_ADDRESS=Hauptstra\xdfe 5, Berlin\n"
    )
    result = CliRunner().invoke(main, ["--env-file", str(env_file), "status"], env=dict(os.environ))
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2
    assert result.stderr.count("\n") == 1
    line = result.stderr.strip()
    assert line.startswith(f"error: settings file {env_file}: not UTF-8")
    assert "byte 0xdf at offset 63 (line 2, column 36)" in line, line


def test_a_database_folder_that_cannot_be_made_is_one_line_for_every_command(
    tmp_path: Path,
) -> None:
    """SQLite's folder is created on first use; when a file stands in its way (or the disk
    refuses), every command says so in one line instead of an OSError traceback."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be\n")
    Path("people.csv").write_text("email,name,topics\nbob@example.org,Bob,x\n")
    env = {
        "NEWSLETTER_DATABASE_URL": f"sqlite:///{blocker / 'db' / 'newsletter.db'}",
        "NEWSLETTER_SOURCES": "sample",
        "NEWSLETTER_IMAP_HOST": "127.0.0.1",
        "NEWSLETTER_IMAP_PORT": "9",
        "NEWSLETTER_BASE_URL": "http://127.0.0.1:9",
    }
    for command, args in ARGS.items():
        if command == ("demo",):  # the demo keeps its own database under subscribers/
            continue
        output = _assert_one_line(_invoke((*command, *args), env), command)
        if command != ("inbox", "classify"):  # it reads files, never the database
            assert f"{blocker / 'db'}" in output, (command, output)
