"""Shared test fixtures.

Tests that need a tool absent on this machine call ``need(condition, reason)``:
they skip with the reason locally, and fail under ``CI=true`` (a skip in CI is a
failure, so CI cannot go green by skipping).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from newsletter.store.db import Store

FIXTURES_ENV = "NEWSLETTER_FIXTURES"
DEFAULT_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Fake Hugging Face and arXiv servers (fixtures upstream_clock, fake_hf, fake_arxiv).
pytest_plugins = ["tests.support.upstreams"]


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


# --- databases -------------------------------------------------------------------------

PG_URL_ENV = "NEWSLETTER_TEST_POSTGRES"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _now() -> dt.datetime:
    return dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


def postgres_url() -> str:
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


def _postgres_reachable(url: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3
        ):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new, empty schema (dropped afterwards)."""
    import psycopg

    base = postgres_url()
    problem = _postgres_reachable(base)
    need(problem is None, f"PostgreSQL not reachable at {base}: {problem}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


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


# --- a real SMTP sink ------------------------------------------------------------------


@dataclass
class Sink:
    """Keeps every message an aiosmtpd server on 127.0.0.1 accepted."""

    host: str
    port: int
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK queued"


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    """An SMTP server that accepts every message (no AUTH), and keeps it."""
    from aiosmtpd.controller import Controller

    from tests.deliver.smtpserver import free_port

    sink = Sink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
