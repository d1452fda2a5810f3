"""The daily job end to end: real captured feeds served over HTTP on 127.0.0.1, a real
SQLite database, a real SMTP server; and the offline demo path."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import mailbox
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newsletter import pipeline
from newsletter.cli import main
from newsletter.config import Settings
from newsletter.models import Profile
from newsletter.sources import hf_daily
from newsletter.store import editions, ledger, subscribers
from newsletter.store.db import Store
from newsletter.store.secret import signer_for
from tests.support.fake_arxiv import feed_dated
from tests.support.http import Reply, StubServer, running_stub
from tests.support.smtp import SmtpSink

DAY = dt.date(2026, 8, 18)  # a Tuesday, the date of the richest HF fixture
NOW = dt.datetime(2026, 8, 18, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def feeds() -> Iterator[StubServer]:
    """Serves fixture bytes by path on 127.0.0.1 (``feeds.script``) and records requests."""
    with running_stub() as server:
        yield server


def make_settings(tmp_path: Path, feeds: StubServer, sink: SmtpSink, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'db' / 'newsletter.db'}",
        "sources": "hf_daily,arxiv_rss:stat",
        "hf_daily_url": f"{feeds.url}/api/daily_papers",
        "arxiv_rss_url": f"{feeds.url}/rss/",
        "delivery": "smtp",
        "smtp_host": sink.host,
        "smtp_port": sink.port,
        "smtp_security": "none",
        "smtp_timeout": 5,
        "http_retries": 0,
        "arxiv_request_interval": 0.0,
        "base_url": "https://papers.example.org",
        "from_address": "Daily Papers <papers@example.org>",
        "secret_key": "k" * 32,
        "archive_dir": tmp_path / "archive",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)


def run(store: Store, settings: Settings, **kwargs: Any) -> pipeline.RunReport:
    coroutine = pipeline.run_daily(
        store, settings, signer_for(settings), date=DAY, clock=lambda: NOW, **kwargs
    )
    return asyncio.run(coroutine)


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def add_readers(store: Store) -> dict[str, int]:
    people = {
        "ada@example.org": Profile(topics=("multimodal agents", "reinforcement learning")),
        "grace@example.org": Profile(topics=("conformal prediction",)),
        "kurt@example.org": Profile(),
    }
    with store.begin() as conn:
        return {
            address: subscribers.add(conn, address, now=NOW, profile=profile).id
            for address, profile in people.items()
        }


def one_hf_day(
    tmp_path: Path, feeds: StubServer, sink: SmtpSink, fixture: Path, **extra: Any
) -> tuple[Settings, Store]:
    """Serve one real HF day, and a store with the three readers of ``add_readers``."""
    feeds.script("/api/daily_papers", Reply(200, fixture.read_bytes()))
    settings = make_settings(tmp_path, feeds, sink, sources="hf_daily", **extra)
    store = Store.open(settings.database_url, now=NOW)
    add_readers(store)
    return settings, store


def test_daily_job_on_real_feeds_sends_each_reader_one_complete_email(
    tmp_path: Path, feeds: StubServer, smtp_sink: SmtpSink, real_fixtures: Path
) -> None:
    hf_day = (real_fixtures / "hf_daily_papers_2026-08-18.json").read_bytes()
    feeds.script("/api/daily_papers", Reply(200, hf_day))
    rss = (real_fixtures / "arxiv_rss_stat_2024-03-26.xml").read_bytes()
    feeds.script("/rss/stat", Reply(200, feed_dated(rss, DAY)))
    settings = make_settings(tmp_path, feeds, smtp_sink)
    store = Store.open(settings.database_url, now=NOW)
    ids = add_readers(store)

    report = run(store, settings)

    assert report.outcome == "ok", report.reason
    assert report.counts["sent"] == 3
    assert sorted(rcpt for _, rcpts, _ in smtp_sink.envelopes for rcpt in rcpts) == sorted(ids)
    with store.begin() as conn:
        edition = editions.get_by_date(conn, DAY)
    assert edition is not None
    assert len(edition.papers) == 29 + 62  # HF day + RSS new/cross, no duplicates
    message_ids = set()
    for _, (recipient,), raw in smtp_sink.envelopes:
        message = parsed(raw)
        assert message["To"].addresses[0].addr_spec == recipient
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert text is not None and html is not None
        assert "https://arxiv.org/abs/" in text.get_content()
        assert "https://arxiv.org/abs/" in html.get_content()
        unsubscribe = message["List-Unsubscribe"]
        assert "<https://papers.example.org/unsubscribe/" in unsubscribe
        assert "<mailto:papers+unsubscribe-" in unsubscribe
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"] and message["Date"]
        message_ids.add(message["Message-ID"])
    assert len(message_ids) == 3
    ada = next(parsed(raw) for _, (r,), raw in smtp_sink.envelopes if r == "ada@example.org")
    ada_text = ada.get_body(("plain",))
    assert ada_text is not None
    assert "multimodal agents" in ada_text.get_content().lower()
    assert (tmp_path / "archive" / f"{DAY}.html").is_file()

    # The same day again: the edition is reused (no fetch) and nothing is sent twice.
    fetched = len(feeds.requests())
    again = run(store, settings)
    assert again.outcome == "ok"
    assert len(smtp_sink.envelopes) == 3
    assert len(feeds.requests()) == fetched
    with store.begin() as conn:
        assert ledger.counts(conn, edition.id)["sent"] == 3


def test_hostile_titles_are_escaped_and_never_reach_a_header(
    tmp_path: Path, feeds: StubServer, smtp_sink: SmtpSink, real_fixtures: Path
) -> None:
    items = json.loads((real_fixtures / "hf_daily_papers_2026-08-11.json").read_bytes())
    items[0]["paper"]["title"] = items[0]["title"] = "<script>alert(1)</script> Agents & Tools"
    items[1]["paper"]["title"] = items[1]["title"] = "Agents\r\nBcc: victim@evil.example\r\n\r\nhi"
    for item in items[:2]:
        item["paper"]["upvotes"] = 10_000  # the top papers, in every reader's email
    feeds.script("/api/daily_papers", Reply(200, json.dumps(items).encode()))
    settings = make_settings(tmp_path, feeds, smtp_sink, sources="hf_daily")
    store = Store.open(settings.database_url, now=NOW)
    with store.begin() as conn:
        subscribers.add(conn, "reader@example.org", now=NOW, profile=Profile(topics=("agents",)))

    assert run(store, settings).outcome == "ok"

    [(_, recipients, raw)] = smtp_sink.envelopes
    assert recipients == ["reader@example.org"]
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"victim@evil.example" not in head
    message = parsed(raw)
    html_part = message.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Agents &amp; Tools" in html
    assert "Agents Bcc: victim@evil.example hi" in html  # one line of text, not headers
    assert "\n" not in str(message["Subject"])


def test_dry_run_renders_everything_and_sends_nothing(
    tmp_path: Path, feeds: StubServer, smtp_sink: SmtpSink, real_fixtures: Path
) -> None:
    settings, store = one_hf_day(
        tmp_path, feeds, smtp_sink, real_fixtures / "hf_daily_papers_2025-10-15.json"
    )

    report = run(store, settings, dry_run=True, out=tmp_path / "look")

    assert report.outcome == "dry-run"
    assert report.counts["rendered"] == 3
    assert report.counts["bytes"] > 3 * 10_000
    assert smtp_sink.envelopes == []
    assert report.folder == tmp_path / "look"
    assert len(list(report.folder.glob("*.eml"))) == len(list(report.folder.glob("*.html"))) == 3
    with store.begin() as conn:  # nothing frozen, nothing queued
        assert editions.get_by_date(conn, DAY) is None


def test_only_sends_to_one_reader_and_papers_are_not_repeated_next_day(
    tmp_path: Path, feeds: StubServer, smtp_sink: SmtpSink, real_fixtures: Path
) -> None:
    settings, store = one_hf_day(
        tmp_path, feeds, smtp_sink, real_fixtures / "hf_daily_papers_2026-08-11.json"
    )

    assert run(store, settings, only="grace@example.org").counts["sent"] == 1
    assert [rcpts for _, rcpts, _ in smtp_sink.envelopes] == [["grace@example.org"]]

    # The next day the same papers come back (an API query looks back a few days):
    # they went out already, so there is no new edition and no email.
    later = pipeline.run_daily(
        store,
        settings,
        signer_for(settings),
        date=DAY + dt.timedelta(days=1),
        clock=lambda: NOW + dt.timedelta(days=1),
    )
    report = asyncio.run(later)
    assert report.outcome == "nothing"
    assert "no new papers" in report.reason
    assert len(smtp_sink.envelopes) == 1


def test_weekly_readers_get_the_week_on_their_day_only(
    tmp_path: Path, feeds: StubServer, smtp_sink: SmtpSink, real_fixtures: Path
) -> None:
    settings = make_settings(tmp_path, feeds, smtp_sink, sources="hf_daily", weekly_day="tue")
    store = Store.open(settings.database_url, now=NOW)
    with store.begin() as conn:
        weekly = subscribers.add(conn, "weekly@example.org", now=NOW)
        subscribers.update_fields(conn, weekly.id, now=NOW, frequency="weekly")
        subscribers.add(conn, "daily@example.org", now=NOW)
    monday, tuesday = DAY - dt.timedelta(days=1), DAY
    days = {monday: "hf_daily_papers_2026-08-11.json", tuesday: "hf_daily_papers_2026-08-18.json"}
    for day, fixture in days.items():
        feeds.script("/api/daily_papers", Reply(200, (real_fixtures / fixture).read_bytes()))
        coroutine = pipeline.run_daily(
            store, settings, signer_for(settings), date=day, clock=lambda: NOW
        )
        assert asyncio.run(coroutine).outcome == "ok"
    received = [(rcpts[0], parsed(raw)) for _, rcpts, raw in smtp_sink.envelopes]
    assert sorted(who for who, _ in received) == [
        "daily@example.org",
        "daily@example.org",
        "weekly@example.org",
    ]
    monday_titles = {p["title"] for p in json.loads((real_fixtures / days[monday]).read_bytes())}
    weekly = next(m for who, m in received if who == "weekly@example.org")
    assert str(weekly["Subject"]).startswith("Daily Papers, week to 18 Aug: ")
    daily = sorted(str(m["Subject"])[:21] for who, m in received if who == "daily@example.org")
    assert daily == ["Daily Papers, 17 Aug:", "Daily Papers, 18 Aug:"]
    weekly_text = weekly.get_body(("plain",))
    assert weekly_text is not None
    # The weekly email draws on Monday's papers as well as Tuesday's.
    assert any(" ".join(t.split())[:40] in weekly_text.get_content() for t in monday_titles)


def test_demo_runs_the_daily_job_offline_into_a_maildir(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["--env-file", "/dev/null", "demo"])
    assert first.exit_code == 0, first.output
    assert "edition 2026-11-26: done, 5 sent now, 5 sent in total" in first.stdout
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    messages = [parsed(m.as_bytes()) for m in box]
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == [
        "ada@example.org",
        "alan@example.org",
        "emmy@example.org",
        "grace@example.org",
        "kurt@example.org",
    ]
    assert len(list((tmp_path / "outbox" / "html").glob("*.html"))) == 5
    assert (tmp_path / "archive" / "index.html").is_file()
    assert (tmp_path / "subscribers" / "demo.db").is_file()

    second = runner.invoke(main, ["--env-file", "/dev/null", "demo"])
    assert second.exit_code == 0
    assert "edition 2026-11-26: done, 0 sent now, 5 sent in total" in second.stdout
    assert len(list(mailbox.Maildir(tmp_path / "outbox", create=False))) == 5


def test_only_never_sends_to_others_left_pending_by_an_earlier_run(
    tmp_path: Path, feeds: StubServer, smtp_sink: SmtpSink, real_fixtures: Path
) -> None:
    settings, store = one_hf_day(
        tmp_path, feeds, smtp_sink, real_fixtures / "hf_daily_papers_2026-08-11.json"
    )
    papers = hf_daily.parse((real_fixtures / "hf_daily_papers_2026-08-11.json").read_bytes())
    with store.begin() as conn:
        edition = editions.freeze(conn, DAY, papers, sources=["hf_daily"], now=NOW)
        everyone = [sub.id for sub in subscribers.list_all(conn)]
        ledger.enqueue(conn, edition.id, everyone, NOW)  # an interrupted run's queue

    report = run(store, settings, only="grace@example.org")

    assert [rcpts for _, rcpts, _ in smtp_sink.envelopes] == [["grace@example.org"]]
    assert report.counts["sent"] == 1 and report.counts["pending"] == 2


def test_an_unreachable_reply_mailbox_does_not_stop_the_digest(
    tmp_path: Path, feeds: StubServer, smtp_sink: SmtpSink, real_fixtures: Path
) -> None:
    closed = {"imap_host": "127.0.0.1", "imap_port": 1, "imap_security": "none"}
    settings, store = one_hf_day(
        tmp_path,
        feeds,
        smtp_sink,
        real_fixtures / "hf_daily_papers_2026-08-11.json",
        imap_username="u",
        **closed,
    )

    dry = run(store, settings, dry_run=True, out=tmp_path / "look")
    assert not any(line.startswith("inbox:") for line in dry.stages)  # a dry run reads no mail

    report = run(store, settings)
    assert report.outcome == "ok"
    assert any(line.startswith("inbox: not read (") for line in report.stages)
    assert len(smtp_sink.envelopes) == 3
