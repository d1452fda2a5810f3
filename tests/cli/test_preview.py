from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import main
from tests.support.needs import need

ARGS = ["--env-file", "/dev/null"]
DEMO_DB = {"NEWSLETTER_DATABASE_URL": "sqlite:///subscribers/demo.db"}


def test_preview_writes_the_exact_email_of_one_subscriber(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, [*ARGS, "demo"]).exit_code == 0
    out = tmp_path / "ada.html"
    result = runner.invoke(
        main, [*ARGS, "preview", "--email", "ada@example.org", "--out", str(out)], env=DEMO_DB
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("subject: Daily Papers, 26 Nov: ")
    html = out.read_text()
    assert "Test-Time Adaptation Under Label Shift" in html
    # The preview is the email Ada was sent by the demo run: same papers, same order
    # (only the signed links differ: a token carries the time it was issued).
    sent = next((tmp_path / "outbox" / "html").glob("*ada@example.org.html")).read_text()
    assert papers(html) == papers(sent)
    assert len(papers(html)) >= 5


def papers(html: str) -> list[str]:
    return re.findall(r'href="https://arxiv.org/abs/([^"]+)"', html)


def test_preview_without_an_edition_says_what_to_do() -> None:
    added = CliRunner().invoke(main, [*ARGS, "subscribers", "add", "ada@example.org"])
    assert added.exit_code == 0, added.output  # a database, with no edition in it
    result = CliRunner().invoke(main, [*ARGS, "preview"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: no edition is frozen for that date yet: run `newsletter run` first\n"
    )


def test_preview_in_another_folder_creates_nothing_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: `preview` run from the wrong folder (no .env, no NEWSLETTER_*) made an
    empty subscribers/newsletter.db and a new secret key there; now it warns and stops."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for name in list(os.environ):
        if name.startswith("NEWSLETTER_"):
            monkeypatch.delenv(name)
    for args in (["preview"], ["preview", "--email", "ada@example.org", "--out", "a.html"]):
        result = CliRunner().invoke(main, args)
        assert (result.exit_code, result.stdout) == (2, ""), result.output
        warning, error = result.stderr.splitlines()
        assert warning.startswith(f"warning: no settings: no .env in {elsewhere}")
        assert error.startswith(
            f"error: no database at {elsewhere / 'subscribers' / 'newsletter.db'}"
        )
        assert list(elsewhere.iterdir()) == []


def test_preview_screenshots_in_chromium(tmp_path: Path) -> None:
    need(shutil.which("chromium") or Path("/usr/bin/chromium").exists(), "Chromium not installed")
    runner = CliRunner()
    assert runner.invoke(main, [*ARGS, "demo"]).exit_code == 0
    result = runner.invoke(main, [*ARGS, "preview", "--screenshot", "shots"], env=DEMO_DB)
    assert result.exit_code == 0, result.output
    shots = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    assert len(shots) == 4
    assert all((tmp_path / "shots" / name).stat().st_size > 10_000 for name in shots)
