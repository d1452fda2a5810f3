"""Usage errors exit 2 with one line naming the option, before anything is recorded
(an outside tester found exit 1, or exit 0, for each of these).

Real pieces: the CLI through click's runner, SQLite in ``tmp_path``, the bundled
``sample`` source, Maildir delivery.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.cli import main

SATURDAY = "2026-11-28"
FAR_FUTURE = "2099-12-04"  # a Friday: never complete while this suite runs


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'newsletter.db'}",
        "SOURCES": "sample",
        "DELIVERY": "maildir",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "SECRET_KEY": "x" * 32,
    }
    env = {f"NEWSLETTER_{k}": v for k, v in values.items()}
    assert cli(env, "subscribers", "add", "reader@example.org").exit_code == 0
    return env


def cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def runs(env: dict[str, str]) -> list[object]:
    return list(json.loads(cli(env, "status", "--json").stdout)["runs"])


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["run", "--only", "not an address"], "error: --only: "),
        (["run", "--date", SATURDAY], "error: --date: "),
        (["run", "--date", FAR_FUTURE], "error: --date: "),
        (["send", "--resend-failed", "--email", "nobody@example.net"], "error: --email: "),
    ],
)
def test_usage_errors_exit_2_with_one_line_and_record_nothing(
    env: dict[str, str], args: list[str], start: str
) -> None:
    # arXiv's calendar applies (weekends, completeness); nothing is asked of this URL.
    arxiv = {
        "NEWSLETTER_SOURCES": "arxiv_rss:cs.LG",
        "NEWSLETTER_ARXIV_RSS_URL": "http://127.0.0.1:9/",
    }
    result = cli(env | arxiv, *args)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(start), line
    assert not line.startswith("error: email:")  # the option, not the field
    assert runs(env) == []


def test_an_unknown_status_is_a_choice_error(env: dict[str, str]) -> None:
    result = cli(env, "subscribers", "list", "--status", "nonsense")
    assert result.exit_code == 2
    assert "Invalid value for '--status': 'nonsense' is not one of" in result.output
    assert cli(env, "subscribers", "list", "--status", "active").exit_code == 0


@pytest.mark.parametrize("content", [b"", b"schema-less"])
@pytest.mark.parametrize(
    "args", [["status"], ["subscribers", "list"], ["run", "--date", "2026-11-26"], ["send"]]
)
def test_an_emptied_database_file_is_an_error_not_an_empty_list(
    tmp_path: Path, env: dict[str, str], args: list[str], content: bytes
) -> None:
    """Before: `: > newsletter.db; newsletter status` rebuilt a fresh schema in silence
    and said "Runs: none yet"."""
    database = tmp_path / "newsletter.db"
    database.unlink()
    if content:  # a SQLite file with a table of its own, none of ours
        import sqlite3

        with sqlite3.connect(database) as conn:
            conn.execute("CREATE TABLE notes (x)")
        conn.close()
    else:
        database.write_bytes(b"")
    before = database.read_bytes()
    # arXiv's calendar applies (weekends, completeness); nothing is asked of this URL.
    arxiv = {
        "NEWSLETTER_SOURCES": "arxiv_rss:cs.LG",
        "NEWSLETTER_ARXIV_RSS_URL": "http://127.0.0.1:9/",
    }
    result = cli(env | arxiv, *args)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: database {database}")
    assert "`newsletter db upgrade`" in line
    assert database.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newsletter.db"]


def test_db_upgrade_makes_the_schema_in_an_empty_file_deliberately(
    tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "newsletter.db").write_bytes(b"")
    assert cli(env, "db", "upgrade").exit_code == 0
    listed = cli(env, "subscribers", "list", "--json")
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []


def test_doctor_fails_an_emptied_database_file(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "newsletter.db").write_bytes(b"")
    result = cli(env, "doctor")
    assert result.exit_code == 1
    [line] = [line for line in result.stdout.splitlines() if "database" in line]
    assert line.startswith("FAIL") and "is empty (0 bytes)" in line, line
    assert (tmp_path / "newsletter.db").read_bytes() == b""
