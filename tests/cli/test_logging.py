from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import main


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers, root.level = handlers, level


def test_log_file_gets_timestamped_lines_even_when_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_file = tmp_path / "newsletter.log"
    monkeypatch.setenv("NEWSLETTER_LOG_FILE", str(log_file))
    result = CliRunner().invoke(main, ["--env-file", "/dev/null", "-q", "demo"])
    assert result.exit_code == 0, result.output
    lines = log_file.read_text().splitlines()
    assert any(" INFO newsletter.progress: collect: 30 papers" in line for line in lines)
    assert all(line[:4].isdigit() for line in lines)  # every line starts with its timestamp


def test_unwritable_log_file_is_a_one_line_setting_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSLETTER_LOG_FILE", str(tmp_path / "missing-dir" / "x.log"))
    result = CliRunner().invoke(main, ["--env-file", "/dev/null", "subscribers", "list"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: setting NEWSLETTER_LOG_FILE: cannot open")
