"""Shared test fixtures.

The helpers behind them live in ``tests/support`` (a test imports helpers from there,
never from a conftest or another test module): ``needs`` (``need``, the real fixtures),
``databases`` (a fresh PostgreSQL schema), ``smtp`` (the SMTP sink), ``http`` (the HTTP
stub), ``clock`` (the fake clock), ``ports``; ``faultsmtp`` is the scripted SMTP server.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.store.db import Store
from tests.support.clock import FakeClock
from tests.support.databases import fresh_postgres_schema
from tests.support.needs import FIXTURES_ENV, IN_CI, fixtures_dir, need
from tests.support.smtp import SmtpSink, running_smtp_sink

# Fake Hugging Face and arXiv servers (fixtures upstream_clock, fake_hf, fake_arxiv).
pytest_plugins = ["tests.support.upstreams"]


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
    # One sender process unless a test asks for more (SEND_PROCESSES defaults to the cores):
    # most tests pass a fixed clock, and a second sender would take the first one's claims,
    # stamped at that clock, for stale. tests/config/test_send_defaults.py tests the default.
    monkeypatch.setenv("NEWSLETTER_SEND_PROCESSES", "1")
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


# --- databases -------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Runs the test once on SQLite (a file in tmp_path) and once on a real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        with fresh_postgres_schema() as url:
            yield url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store.open(database_url, now=_now())
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'test.db'}", now=_now())
    yield opened
    opened.close()


# --- real servers and the clock -----------------------------------------------------------


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP server on 127.0.0.1 that accepts every message (no AUTH), and keeps it."""
    with running_smtp_sink() as sink:
        yield sink


@pytest.fixture
def clock() -> FakeClock:
    """The fake clock, at Thursday 26 November 2026 09:00 UTC unless the test moves it."""
    return FakeClock()
