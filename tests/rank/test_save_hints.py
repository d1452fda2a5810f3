"""Issue 16: a topic saved from the CLI is checked against the latest edition's words."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from newsletter.cli import main
from newsletter.models import Paper
from newsletter.store import editions
from newsletter.store.db import Store

NOW = dt.datetime(2025, 6, 1, 7, 0, tzinfo=dt.UTC)


def test_cli_add_and_topics_suggest_the_close_word(database_url: str, tmp_path: Path) -> None:
    env = tmp_path / "test.env"
    env.write_text(f"NEWSLETTER_DATABASE_URL={database_url}\n")

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["--env-file", str(env), *args])
        return result.exit_code, result.stderr

    # No edition yet: nothing to compare with, no note.
    assert run("subscribers", "add", "ada@example.org", "--topic", "contiual learning") == (0, "")
    store = Store.open(database_url, now=NOW)
    paper = Paper("2606.00001", "Continual learning at scale", "We study continual learning.")
    with store.begin() as conn:
        editions.freeze(conn, NOW.date(), [paper], sources=["sample"], now=NOW)
    code, err = run("subscribers", "add", "bob@example.org", "--topic", "contiual learning")
    assert code == 0
    assert err == "note: “contiual learning”: did you mean “continual learning”?\n"
    code, err = run("subscribers", "topics", "ada@example.org", "--topic", "continual learning")
    assert (code, err) == (0, "")
