"""Error messages say each thing once (issue 14, item 8). Before: ``--date 2026-13-01``
answered "--date: --date: expected YYYY-MM-DD", and a source's error printed its name
twice ("hf_daily: source hf_daily: HTTP 503")."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from newsletter.cli import main
from newsletter.errors import SourceError


def test_a_bad_date_is_named_once(tmp_path: Path) -> None:
    env = tmp_path / "messages.env"
    env.write_text(f"NEWSLETTER_DATABASE_URL=sqlite:///{tmp_path / 'm.db'}\n")
    result = CliRunner().invoke(main, ["--env-file", str(env), "run", "--date", "2026-13-01"])
    assert result.exit_code != 0
    assert result.stderr == "error: --date: expected YYYY-MM-DD, got '2026-13-01'\n"


def test_a_source_error_keeps_its_reason_apart_from_its_name() -> None:
    error = SourceError("hf_daily", "HTTP 503 after 4 attempts")
    assert str(error) == "source hf_daily: HTTP 503 after 4 attempts"
    assert (error.source, error.reason) == ("hf_daily", "HTTP 503 after 4 attempts")
