"""File modes (issue 14, item 8): the database (every address) and the secret key are
readable by their owner alone; the archive and the outbox's HTML copies by anyone (a web
server serves them). Before: ``newsletter.db`` was 0644 and the archive's HTML 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import main


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: files 0644 unless the code says otherwise
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_demo_writes_private_and_public_files_as_each_must_be(
    tmp_path: Path, umask_022: None
) -> None:
    result = CliRunner().invoke(main, ["--env-file", "/dev/null", "demo"])
    assert result.exit_code == 0, result.output
    private = [tmp_path / "subscribers" / "demo.db", tmp_path / "subscribers" / "secret_key"]
    public = [
        *(tmp_path / "outbox" / "html").glob("*.html"),
        *(tmp_path / "archive").glob("*.html"),
        tmp_path / "archive" / "feed.xml",
    ]
    assert len(public) >= 5 + 2
    assert {p.name: oct(mode(p)) for p in private} == {p.name: "0o600" for p in private}
    assert {p.name: oct(mode(p)) for p in public} == {p.name: "0o644" for p in public}
