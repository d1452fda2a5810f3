"""Issue 14, item 4: checks before side effects, through the command line.

``run --only`` with an unknown address stops before reading the mailbox, collecting,
recording a run or alerting; a named ``--env-file`` must exist; without ``.env`` and
without ``NEWSLETTER_*``, ``run`` and ``send`` stop, and read-only commands warn and create
nothing (no database, no secret key). Real pieces: SQLite in tmp_path, the SMTP sink
for alerts, a listening socket standing in for the IMAP server.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from newsletter.cli import main
from newsletter.store.db import Store
from newsletter.store.schema import editions, runs
from tests.support.delivery import utcnow
from tests.support.smtp import SmtpSink

THURSDAY = "2026-11-26"


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No NEWSLETTER_* variable at all (the fixtures' folder variable included)."""
    for name in list(os.environ):
        if name.startswith("NEWSLETTER_"):
            monkeypatch.delenv(name)


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def imap_listener() -> Iterator[socket.socket]:
    """A TCP port that accepts connections and never answers: any connection is recorded."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    yield server
    server.close()


def connections(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_run_only_an_unknown_address_stops_before_anything(
    tmp_path: Path, smtp_sink: SmtpSink, imap_listener: socket.socket
) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    values = {
        "DATABASE_URL": url,
        "SOURCES": "sample",
        "DELIVERY": "smtp",
        "SMTP_HOST": smtp_sink.host,
        "SMTP_PORT": str(smtp_sink.port),
        "SMTP_SECURITY": "none",
        "SECRET_KEY": "x" * 32,
        "ALERT_EMAIL": "ops@example.org",
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": str(imap_listener.getsockname()[1]),
        "IMAP_SECURITY": "none",
        "IMAP_USERNAME": "u",
        "IMAP_PASSWORD": "p",
    }
    env = {f"NEWSLETTER_{k}": v for k, v in values.items()}
    assert cli("subscribers", "add", "ada@example.org", env=env).exit_code == 0
    result = cli("run", "--date", THURSDAY, "--only", "typo@example.org", env=env)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "error: --only: not found: subscriber typo@example.org\n"
    assert connections(imap_listener) == 0  # the mailbox was not read
    assert smtp_sink.envelopes == []  # no alert
    store = Store.open(url, now=utcnow())
    with store.begin() as conn:
        assert conn.execute(select(func.count()).select_from(runs)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(editions)).scalar_one() == 0
    store.close()


@pytest.mark.parametrize("command", [["status"], ["run", "--date", THURSDAY], ["send"]])
def test_a_named_env_file_that_does_not_exist_is_an_error(
    tmp_path: Path, command: list[str]
) -> None:
    result = cli("--env-file", "prod.env", *command)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "error: --env-file: no such file: prod.env\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("no_settings")
@pytest.mark.parametrize("command", [["run"], ["send", "--retry"], ["run", "--date", THURSDAY]])
def test_run_and_send_without_any_settings_stop_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    result = cli(*command)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: no settings: no .env in {tmp_path} and no NEWSLETTER_* variable; run from"
        " the install folder, or pass --env-file\n"
    )
    assert list(tmp_path.iterdir()) == []  # no subscribers/newsletter.db, no secret_key


@pytest.mark.usefixtures("no_settings")
@pytest.mark.parametrize(
    "command",
    [["status"], ["status", "--check"], ["subscribers", "list"], ["subscribers", "export"]],
)
def test_read_only_commands_without_settings_warn_and_create_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    result = cli(*command)
    assert result.exit_code == 2
    warning, error = result.stderr.splitlines()
    assert warning == (
        f"warning: no settings: no .env in {tmp_path} and no NEWSLETTER_* variable; run"
        " from the install folder, or pass --env-file"
    )
    assert error.startswith(f"error: no database at {tmp_path / 'subscribers' / 'newsletter.db'}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("no_settings")
def test_doctor_without_settings_warns_and_creates_nothing(tmp_path: Path) -> None:
    result = cli("doctor")
    assert result.stderr.splitlines()[0].startswith("warning: no settings: no .env in")
    assert "info  database: no database at" in result.stdout
    assert not (tmp_path / "subscribers").exists()
    assert not any(p.name == "secret_key" for p in tmp_path.rglob("*"))


@pytest.mark.usefixtures("no_settings")
def test_db_status_without_settings_lists_migrations_and_creates_nothing(tmp_path: Path) -> None:
    result = cli("db", "status")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: no settings: no .env in")
    assert result.stdout.splitlines()[0] == "pending  m001_initial"
    assert "pending (no database at subscribers/newsletter.db yet)" in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("no_settings")
def test_a_dot_env_here_is_settings_enough(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"NEWSLETTER_DATABASE_URL=sqlite:///{tmp_path / 'n.db'}\n")
    assert cli("subscribers", "add", "ada@example.org").exit_code == 0
    listed = cli("subscribers", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.stderr == ""
    assert listed.stdout.startswith("ada@example.org\tactive")
    sent = cli("send", "--retry")
    assert (sent.exit_code, sent.stdout) == (0, "nothing to send\n")


@pytest.mark.usefixtures("no_settings")
def test_demo_still_runs_offline_on_the_embedded_defaults(tmp_path: Path) -> None:
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert (tmp_path / "subscribers" / "demo.db").exists()


def leaf_commands() -> list[list[str]]:
    """Every command of the CLI, by walking the click tree (so a new command is covered
    without editing this list), with sample arguments."""
    samples = {
        "EMAIL": "ada@example.org",
        "DATE": THURSDAY,
        "FILE": "list.csv",
        "TARGET_URL": "sqlite:///copy.db",
        "FILES": "bounce.eml",
    }
    ctx = click.Context(main)
    found: list[list[str]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*path, name])
            if not command.invoke_without_command:
                return
        args = [
            samples[param.human_readable_name.upper()]
            for param in command.params
            if isinstance(param, click.Argument)
        ]
        found.append([*path, *args])

    walk(main, [])
    return found


# Not here: `demo` makes its own demo folder by design; `serve` and `inbox` are covered
# below (serve would listen; inbox needs IMAP_HOST, a setting, so it stops first).
FIRST_USE = {("demo",), ("inbox", "classify", "bounce.eml")}


@pytest.mark.usefixtures("no_settings")
def test_no_command_creates_a_database_or_key_in_a_folder_without_settings(
    tmp_path: Path,
) -> None:
    """Issue 14: in the wrong folder (a cron line that forgot `cd`), no command makes an
    empty subscribers/newsletter.db or a secret key there. Commands that read or change
    existing readers warn and say there is no database; commands that create the list
    (add, import, db upgrade), send, serve or re-collect stop without settings (exit 2)."""
    (tmp_path / "list.csv").write_text("email\nada@example.org\n")
    (tmp_path / "bounce.eml").write_text("Subject: x\n\nx\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    commands = [c for c in leaf_commands() if tuple(c) not in FIRST_USE]
    assert ["serve"] in commands and ["subscribers", "show", "ada@example.org"] in commands
    for command in commands:
        result = cli(*command)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, command
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            command,
            result.output,
        )
        if command[:2] == ["db", "status"]:
            assert result.exit_code == 0
        elif command == ["doctor"]:
            assert result.exit_code == 1  # a failed check: no FROM address, no SMTP host
        else:
            assert result.exit_code in (1, 2), (command, result.output)
        assert "no settings" in result.stderr or "IMAP_HOST" in result.stderr, (
            command,
            result.stderr,
        )


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["run", "--date", "2026-13-01"], "--date"),
        (["send", "--date", "2026-13-01"], "--date"),
        (["send", "--resend-failed", "--date", "2026-13-01"], "--date"),
        (["preview", "--date", "2026-13-01"], "--date"),
        (["edition", "recollect", "2026-13-01"], "DATE"),
        (["subscribers", "pause", "ada@example.org", "--until", "2026-13-01"], "--until"),
    ],
)
def test_a_bad_date_is_one_line_naming_the_option_exit_2(
    tmp_path: Path, command: list[str], name: str
) -> None:
    """Before: `run --date 2026-13-01` exited 1 ("--date: --date: ..." earlier still),
    `send --date` printed click's usage block, `pause --until` named the value as the
    option; a bad date is a usage error (README: exit 2), said in one line, before
    anything is opened."""
    env = {"NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}"}
    result = cli(*command, env=env)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"error: {name}: expected YYYY-MM-DD, got '2026-13-01'\n"
    assert list(tmp_path.iterdir()) == []
