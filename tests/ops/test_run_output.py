"""What ``newsletter run`` prints (snapshots of the text), and the lock against a second run.

Real pieces only: the bundled ``sample`` source, a local HTTP server standing in for
Hugging Face, an aiosmtpd sink on 127.0.0.1, a SQLite database in tmp_path.
Durations vary from run to run, so they are replaced by ``Ns`` before comparing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.cli import main
from newsletter.store import locks
from newsletter.store.db import Store
from tests.support.http import Reply, StubServer, running_stub
from tests.support.smtp import SmtpSink

THURSDAY, SATURDAY = "2026-11-26", "2026-11-28"


def normalised(text: str) -> list[str]:
    return re.sub(r"\b\d+\.\d+s\b", "Ns", text).splitlines()


HF_PATH = "/api/daily_papers"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def feed_server() -> Iterator[StubServer]:
    """A stand-in for the Hugging Face API on 127.0.0.1: 503 unless a test scripts it."""
    with running_stub() as stub:
        stub.script(HF_PATH, Reply(503, b'{"error": "unavailable"}', JSON))
        yield stub


@pytest.fixture
def env(tmp_path: Path, smtp_sink: SmtpSink) -> dict[str, str]:
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'newsletter.db'}",
        "SOURCES": "sample",
        "DELIVERY": "smtp",
        "SMTP_HOST": smtp_sink.host,
        "SMTP_PORT": str(smtp_sink.port),
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT": "5",
        "SECRET_KEY": "x" * 32,
        "HTTP_RETRIES": "0",
        "HTTP_TIMEOUT": "5",
    }
    return {f"NEWSLETTER_{k}": v for k, v in values.items()}


def cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def add_readers(env: dict[str, str]) -> None:
    for email, topic in [("ada@example.org", "diffusion models"), ("alan@example.org", "robots")]:
        assert cli(env, "subscribers", "add", email, "--topic", topic).exit_code == 0


def test_success_then_a_second_run_sends_nothing(env: dict[str, str], smtp_sink: SmtpSink) -> None:
    add_readers(env)
    first = cli(env, "run", "--date", THURSDAY)
    assert first.exit_code == 0, first.output
    assert first.stdout == "edition 2026-11-26: done, 2 sent now, 2 sent in total\n"
    stages = [
        line
        for line in normalised(first.stderr)
        if line.startswith(("collect:", "queue:", "send:"))
    ]
    assert stages == [
        "collect: 30 papers (sample 30) in Ns",
        "queue: 2 recipients (2 new) in Ns",
        "send: 2 sent now (2 sent) in Ns",
    ]
    assert sorted(rcpt for _, [rcpt], _ in smtp_sink.envelopes) == [
        "ada@example.org",
        "alan@example.org",
    ]
    again = cli(env, "run", "--date", THURSDAY)
    assert again.exit_code == 0
    assert again.stdout == "edition 2026-11-26: done, 0 sent now, 2 sent in total\n"
    assert "edition 2026-11-26: 30 papers, already frozen" in again.stderr
    assert "send: 0 sent now (2 sent) in Ns" in normalised(again.stderr)
    assert len(smtp_sink.envelopes) == 2


def test_one_reader_is_counted_in_english(env: dict[str, str], smtp_sink: SmtpSink) -> None:
    """The first run of a new install (`run --only you@example.org`) has one recipient;
    before: "queue: 1 recipients", and `status` said "1 attempts"."""
    assert cli(env, "subscribers", "add", "ada@example.org").exit_code == 0
    first = cli(env, "run", "--date", THURSDAY, "--only", "ada@example.org")
    assert first.exit_code == 0, first.output
    assert "queue: 1 recipient (1 new) in Ns" in normalised(first.stderr)
    assert first.stdout == "edition 2026-11-26: done, 1 sent now, 1 sent in total\n"
    status = cli(env, "status").stdout
    assert not re.search(r"\b1 (recipients|messages|attempts|papers)\b", status), status


def test_quiet_success_prints_nothing(env: dict[str, str], smtp_sink: SmtpSink) -> None:
    """-q in cron: a digest sent is no news (before, it printed a line, so cron mailed
    every day)."""
    add_readers(env)
    result = cli(env, "-q", "run", "--date", THURSDAY)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert len(smtp_sink.envelopes) == 2


def test_quiet_send_prints_nothing_when_all_went_well(
    env: dict[str, str], smtp_sink: SmtpSink
) -> None:
    """`newsletter -q send` in cron: nothing to send, or everything sent, is no news."""
    add_readers(env)
    assert cli(env, "-q", "run", "--date", THURSDAY).exit_code == 0
    for args in (("send",), ("send", "--retry", "--now"), ("send", "--date", THURSDAY)):
        quiet = cli(env, "-q", *args)
        assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", ""), args
    loud = cli(env, "send", "--retry", "--now")
    assert loud.exit_code == 0 and loud.stdout != ""
    assert len(smtp_sink.envelopes) == 2


def test_no_announcement_day_is_refused(env: dict[str, str], smtp_sink: SmtpSink) -> None:
    add_readers(env)
    env = env | {"NEWSLETTER_SOURCES": "hf_daily,arxiv_rss:cs.LG"}
    result = cli(env, "run", "--date", SATURDAY)
    assert result.exit_code == 2  # a usage error (README, exit statuses)
    assert result.stdout == ""
    assert result.stderr == (
        "error: --date: Sat 28 Nov 2026 is not an arXiv announcement day (editions are named"
        " by the announcement days, Monday to Friday); the HF list of Sat 28 Nov is in the"
        " edition of Mon 30 Nov\n"
    )
    assert smtp_sink.envelopes == []


def test_a_day_the_schedule_skips(env: dict[str, str], smtp_sink: SmtpSink) -> None:
    add_readers(env)
    env = env | {"NEWSLETTER_SOURCES": "hf_daily,arxiv_rss:cs.LG", "NEWSLETTER_SCHEDULE": "weekly"}
    result = cli(env, "run", "--date", THURSDAY)
    assert result.exit_code == 0
    assert result.stdout == (
        "no digest for 2026-11-26: Thursday 2026-11-26: SCHEDULE=weekly sends on mon;"
        " next digest Monday 2026-11-30\n"
    )
    assert smtp_sink.envelopes == []


def test_nothing_announced_on_a_weekday_alerts_the_operator(
    env: dict[str, str], smtp_sink: SmtpSink, feed_server: StubServer
) -> None:
    add_readers(env)
    feed_server.script(HF_PATH, Reply(200, b"[]", JSON))
    env = env | {
        "NEWSLETTER_SOURCES": "hf_daily",
        "NEWSLETTER_HF_DAILY_URL": feed_server.url + HF_PATH,
        "NEWSLETTER_ALERT_EMAIL": "ops@example.org",
    }
    result = cli(env, "run", "--date", THURSDAY)
    assert result.exit_code == 0
    assert result.stdout == (
        "no digest for 2026-11-26: no new papers announced for 2026-11-26; no digest sent\n"
    )
    [(_, rcpts, data)] = smtp_sink.envelopes
    assert rcpts == ["ops@example.org"]
    assert b"no digest was sent on a day one was due" in data


def test_failed_source_is_reported_and_the_others_go_out(
    env: dict[str, str], smtp_sink: SmtpSink, feed_server: StubServer
) -> None:
    """Past the deadline (Thursday's edition, days ago) the digest goes out without HF:
    exit 4, the reason on the outcome line, and an alert."""
    add_readers(env)
    env = env | {
        "NEWSLETTER_SOURCES": "sample,hf_daily",
        "NEWSLETTER_HF_DAILY_URL": feed_server.url + HF_PATH,
        "NEWSLETTER_ALERT_EMAIL": "ops@example.org",
    }
    result = cli(env, "run", "--date", THURSDAY)
    assert result.exit_code == 4, result.output
    assert result.stdout == (
        "edition 2026-11-26: done, 2 sent now, 2 sent in total; sent without hf_daily"
        " (HTTP 503 after 1 attempt): still failing at 2026-11-26 13:00 UTC"
        " (MISSING_SOURCE_WAIT_HOURS=8)\n"
    )
    lines = normalised(result.stderr)
    assert "collect: 30 papers (sample 30, hf_daily FAILED) in Ns" in lines
    assert any(line.startswith("source hf_daily failed: ") and "503" in line for line in lines)
    readers = [m for m in smtp_sink.envelopes if m[1] != ["ops@example.org"]]
    [alert] = [m for m in smtp_sink.envelopes if m[1] == ["ops@example.org"]]
    assert len(readers) == 2
    assert b"the digest went out without hf_daily" in alert[2]
    status = json.loads(cli(env, "status", "--json").stdout)
    health = {s["source"]: s for s in status["sources"]}
    assert health["hf_daily"]["ok"] is False and "503" in health["hf_daily"]["last_error"]
    assert health["sample"]["ok"] is True
    [edition] = status["editions"]
    assert edition["missing"] == [{"source": "hf_daily", "error": "HTTP 503 after 1 attempt"}]
    assert "edition 2026-11-26 went out without hf_daily: HTTP 503" in (
        " ".join(status["problems"])
    )


def test_every_source_failing_fails_the_run(env: dict[str, str], feed_server: StubServer) -> None:
    add_readers(env)
    env = env | {
        "NEWSLETTER_SOURCES": "hf_daily",
        "NEWSLETTER_HF_DAILY_URL": feed_server.url + HF_PATH,
    }
    result = cli(env, "run", "--date", THURSDAY)
    assert result.exit_code == 1
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: every source failed: hf_daily: ")
    assert "503" in last


def test_a_second_concurrent_run_stops_with_a_clear_message(env: dict[str, str]) -> None:
    add_readers(env)
    url = env["NEWSLETTER_DATABASE_URL"]
    store = Store.open(url, now=dt.datetime.now(dt.UTC))
    holder = locks.holder_id("run")  # this (live) process, as another run would
    with store.begin() as conn:
        locks.acquire(conn, "run", holder, dt.datetime.now(dt.UTC), 600)
    try:
        result = cli(env, "run", "--date", THURSDAY)
    finally:
        with store.begin() as conn:
            locks.release(conn, "run", holder)
        store.close()
    assert result.exit_code == 1
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: another run holds the 'run' lock ({holder} since ")
    assert last.endswith("; not starting")


def test_the_same_failure_again_does_not_alert_again(
    env: dict[str, str], smtp_sink: SmtpSink, feed_server: StubServer
) -> None:
    """An hourly cron must not mail the operator every hour about the same problem: one
    email per edition and kind of problem, whatever the reason says this time."""
    add_readers(env)
    env = env | {
        "NEWSLETTER_SOURCES": "hf_daily",
        "NEWSLETTER_HF_DAILY_URL": feed_server.url + HF_PATH,
        "NEWSLETTER_ALERT_EMAIL": "ops@example.org",
    }
    for _ in range(2):
        assert cli(env, "run", "--date", THURSDAY).exit_code == 1
    assert [rcpts for _, rcpts, _ in smtp_sink.envelopes] == [["ops@example.org"]]
    feed_server.status = 500  # another reason, the same kind of problem (the run failed)
    assert cli(env, "run", "--date", THURSDAY).exit_code == 1
    assert len(smtp_sink.envelopes) == 1
