"""Shared test fixtures.

Tests that need a tool absent on this machine call ``need(condition, reason)``:
they skip with the reason locally, and fail under ``CI=true`` (a skip in CI is a
failure, so CI cannot go green by skipping).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES_ENV = "NEWSLETTER_FIXTURES"
DEFAULT_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(condition: object, reason: str) -> None:
    """Skip (locally) or fail (in CI) when ``condition`` is false."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def fixtures_dir() -> Path:
    return Path(os.environ.get(FIXTURES_ENV, str(DEFAULT_FIXTURES)))


@pytest.fixture
def real_fixtures() -> Path:
    """The folder of real captured responses (../shared/fixtures/real by default)."""
    path = fixtures_dir()
    need(path.is_dir(), f"real fixtures not found at {path} (set {FIXTURES_ENV})")
    return path


@pytest.fixture
def seed_page() -> Path:
    path = fixtures_dir().parent.parent / "seed" / "000_63cfe2aa0ef4d944.txt"
    need(path.is_file(), f"seed page not found at {path}")
    return path


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Tests never depend on the developer's shell or .env: drop NEWSLETTER_* and run in tmp."""
    for name in list(os.environ):
        if name.startswith("NEWSLETTER_") and name != FIXTURES_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a skipped test is a failure: nothing may pass by not running."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not IN_CI or reporter is None:
        return
    skipped = reporter.stats.get("skipped", [])
    if skipped and exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; failing the run", red=True)
        session.exitstatus = 1
