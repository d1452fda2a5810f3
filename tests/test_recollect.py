"""Collecting an edition again: ``freeze.recollect`` on the test's clock, and the command
``newsletter edition recollect DATE``. Allowed only while none of the edition's messages
can have reached a reader."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from newsletter import pipeline
from newsletter.cli import main
from newsletter.config import Settings
from newsletter.errors import InputError
from newsletter.pipeline import freeze
from newsletter.store import editions, ledger, runs, subscribers
from newsletter.store.db import Store
from newsletter.store.secret import signer_for
from tests.support.clock import FakeClock
from tests.support.fake_arxiv import UTC, FakeArxiv
from tests.support.fake_hf import FakeHF

# In the past of the real clock too: the command runs on the process clock.
MON, TUE = dt.date(2026, 11, 23), dt.date(2026, 11, 24)
MORNING = dt.datetime(2026, 11, 24, 7, 15, tzinfo=UTC)
HF_BACK = dt.datetime(2026, 11, 24, 8, 15, tzinfo=UTC)


def values(tmp_path: Path, hf: FakeHF, arxiv: FakeArxiv) -> dict[str, Any]:
    return {
        "database_url": f"sqlite:///{tmp_path / 'newsletter.db'}",
        "sources": "hf_daily,arxiv_rss:cs.LG",
        "hf_daily_url": hf.url + "/api/daily_papers",
        "arxiv_rss_url": arxiv.url + "/rss/",
        "arxiv_api_url": arxiv.url + "/api/query",
        "http_retries": 0,
        "arxiv_request_interval": 0,
        "delivery": "maildir",
        "outbox_dir": tmp_path / "outbox",
        "archive_dir": tmp_path / "archive",
        "secret_key": "k" * 32,
    }


@pytest.fixture
def thin_tuesday(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> tuple[Settings, Store, set[str]]:
    """Tuesday's edition frozen without HF (policy send, HF down); nobody subscribed yet.
    Returns the settings, the store and the ids of the whole edition."""
    upstream_clock.set(MORNING)
    whole = set(fake_hf.add_day(MON, 14)) | set(fake_arxiv.announce(TUE, 5))
    fake_hf.fail("/api/daily_papers", until=HF_BACK - dt.timedelta(minutes=15))
    settings = Settings(
        _env_file=None, missing_source_policy="send", **values(tmp_path, fake_hf, fake_arxiv)
    )
    store = Store.open(settings.database_url, now=upstream_clock())
    report = asyncio.run(
        pipeline.run_daily(store, settings, signer_for(settings), date=TUE, clock=upstream_clock)
    )
    assert report.outcome == "partial"
    return settings, store, whole


def test_a_thin_edition_nobody_got_is_collected_again_whole(
    thin_tuesday: tuple[Settings, Store, set[str]], upstream_clock: FakeClock
) -> None:
    settings, store, whole = thin_tuesday
    with store.begin() as conn:
        old = editions.get_by_date(conn, TUE)
        reader = subscribers.add(conn, "ada@example.org", now=upstream_clock())
        ledger.enqueue(conn, old.id, [reader.id], upstream_clock())  # queued, not sent
    upstream_clock.set(HF_BACK)

    done = asyncio.run(freeze.recollect(store, settings, TUE, upstream_clock()))

    assert done.dropped.missing == (("hf_daily", "HTTP 503 after 1 attempt"),)
    assert done.edition is not None and done.edition.missing == ()
    with store.begin() as conn:
        new = editions.get_by_date(conn, TUE)
        assert ledger.rows(conn, old.id) == []
    assert {p.arxiv_id for p in new.papers} == whole
    report = asyncio.run(
        pipeline.run_daily(store, settings, signer_for(settings), date=TUE, clock=upstream_clock)
    )
    assert (report.outcome, report.counts["sent"]) == ("ok", 1)


def test_the_old_edition_stays_while_the_source_is_still_failing_before_the_deadline(
    thin_tuesday: tuple[Settings, Store, set[str]], fake_hf: FakeHF, upstream_clock: FakeClock
) -> None:
    settings, store, _ = thin_tuesday
    fake_hf.fail("/api/daily_papers")
    waiting = settings.model_copy(update={"missing_source_policy": "wait"})
    done = asyncio.run(freeze.recollect(store, waiting, TUE, upstream_clock()))
    assert done.edition is None
    assert done.collected.verdict.action == "wait"
    with store.begin() as conn:
        assert editions.get_by_date(conn, TUE) == done.dropped  # untouched


def test_an_edition_whose_messages_went_out_is_refused(
    thin_tuesday: tuple[Settings, Store, set[str]], tmp_path: Path, upstream_clock: FakeClock
) -> None:
    settings, store, _ = thin_tuesday
    with store.begin() as conn:
        subscribers.add(conn, "ada@example.org", now=upstream_clock())
    asyncio.run(
        pipeline.run_daily(store, settings, signer_for(settings), date=TUE, clock=upstream_clock)
    )
    with pytest.raises(InputError) as info:
        asyncio.run(freeze.recollect(store, settings, TUE, upstream_clock()))
    assert str(info.value) == (
        "DATE: edition 2026-11-24 cannot be collected again: some of its messages may have"
        " reached readers (1 sent)"
    )


# --- the command


def cli(tmp_path: Path, hf: FakeHF, arxiv: FakeArxiv, *args: str, **extra: str) -> Result:
    env = {f"NEWSLETTER_{k.upper()}": str(v) for k, v in values(tmp_path, hf, arxiv).items()} | {
        f"NEWSLETTER_{k.upper()}": v for k, v in extra.items()
    }
    return CliRunner().invoke(main, ["--env-file", "/dev/null", *args], env=env)


def test_the_command_replaces_then_refuses_once_sent(
    thin_tuesday: tuple[Settings, Store, set[str]],
    tmp_path: Path,
    fake_hf: FakeHF,
    fake_arxiv: FakeArxiv,
    upstream_clock: FakeClock,
) -> None:
    _, store, whole = thin_tuesday
    upstream_clock.set(HF_BACK)

    replaced = cli(tmp_path, fake_hf, fake_arxiv, "edition", "recollect", "2026-11-24")

    assert replaced.exit_code == 0, replaced.output
    assert replaced.stdout == (
        f"edition 2026-11-24: 5 papers replaced by {len(whole)};"
        " `newsletter run --date 2026-11-24` sends it\n"
    )
    assert "collect: 19 papers (hf_daily 14, arxiv_rss:cs.LG 5)" in replaced.stderr
    with store.begin() as conn:
        assert [r.command for r in runs.recent(conn)][:1] == ["recollect"]
    assert (
        cli(tmp_path, fake_hf, fake_arxiv, "subscribers", "add", "ada@example.org").exit_code == 0
    )
    sent = cli(tmp_path, fake_hf, fake_arxiv, "run", "--date", "2026-11-24")
    assert sent.exit_code == 0 and "1 sent now" in sent.stdout

    refused = cli(tmp_path, fake_hf, fake_arxiv, "edition", "recollect", "2026-11-24")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: DATE: edition 2026-11-24 cannot be collected again: some of its messages may"
        " have reached readers (1 sent)\n"
    )


def test_the_command_explains_a_date_without_an_edition(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv
) -> None:
    # An install with a list and no edition of that date (without a database at all, the
    # command says so instead, and creates none).
    added = cli(tmp_path, fake_hf, fake_arxiv, "subscribers", "add", "ada@example.org")
    assert added.exit_code == 0, added.output
    missing = cli(tmp_path, fake_hf, fake_arxiv, "edition", "recollect", "2026-11-24")
    assert (missing.exit_code, missing.stderr) == (
        1,
        "error: not found: edition of 2026-11-24: nothing is frozen for that date\n",
    )
    typo = cli(tmp_path, fake_hf, fake_arxiv, "edition", "recollect", "2026-13-01")
    assert typo.stderr == "error: DATE: expected YYYY-MM-DD, got '2026-13-01'\n"
