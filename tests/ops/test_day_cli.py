"""``newsletter run`` and ``status`` end to end, as cron starts them, under libfaketime.

The process clock is set with Debian's ``faketime`` (``TZ`` is the machine's zone, as
cron's); the fake upstreams on 127.0.0.1 answer from the same instant. Each case is one
real subprocess: the CLI, its settings from the environment, a SQLite file, a Maildir.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mailbox
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.clock import FakeClock
from tests.support.fake_arxiv import FakeArxiv
from tests.support.fake_hf import FakeHF
from tests.support.needs import need

MON, TUE = dt.date(2026, 11, 30), dt.date(2026, 12, 1)
FRI, SAT, SUN = dt.date(2026, 11, 27), dt.date(2026, 11, 28), dt.date(2026, 11, 29)


@pytest.fixture
def env(tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv) -> dict[str, str]:
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'newsletter.db'}",
        "SOURCES": "hf_daily,arxiv_rss:cs.LG",
        "HF_DAILY_URL": fake_hf.url + "/api/daily_papers",
        "ARXIV_RSS_URL": fake_arxiv.url + "/rss/",
        "ARXIV_API_URL": fake_arxiv.url + "/api/query",
        "ARXIV_REQUEST_INTERVAL": "0",
        "HTTP_RETRIES": "0",
        "HTTP_TIMEOUT": "10",
        "DELIVERY": "maildir",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "SECRET_KEY": "k" * 32,
    }
    return {f"NEWSLETTER_{k}": v for k, v in values.items()}


def newsletter(
    tmp_path: Path, env: dict[str, str], clock: FakeClock, zone: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with the process clock at ``clock.now`` (shown in ``zone``, the
    machine's TZ)."""
    faketime = shutil.which("faketime")
    need(faketime, "faketime not installed (apt package faketime)")
    assert faketime is not None
    local = clock().astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
    keep = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    process_env: dict[str, Any] = keep | env | {"TZ": zone, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    return subprocess.run(
        [faketime, local, sys.executable, "-m", "newsletter", "--env-file", "/dev/null", *args],
        env=process_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def add_reader(tmp_path: Path, env: dict[str, str], clock: FakeClock) -> None:
    added = newsletter(tmp_path, env, clock, "UTC", "subscribers", "add", "ada@example.org")
    assert added.returncode == 0, added.stderr


def delivered(tmp_path: Path) -> int:
    box = tmp_path / "outbox"
    return len(mailbox.Maildir(box, create=False)) if box.exists() else 0


def test_tokyo_at_0715_sends_yesterdays_announcement_with_the_whole_weekend(
    tmp_path: Path,
    env: dict[str, str],
    fake_hf: FakeHF,
    fake_arxiv: FakeArxiv,
    upstream_clock: FakeClock,
) -> None:
    """Tuesday 07:15 in Tokyo is Monday 22:15 UTC: Tuesday's announcement is not out;
    Monday's edition (Friday's to Sunday's HF lists) is the latest complete one."""
    for day, count in ((FRI, 20), (SAT, 4), (SUN, 6), (MON, 30)):
        fake_hf.add_day(day, count)
    fake_arxiv.announce(MON, 8)
    upstream_clock.set(dt.datetime(2026, 12, 1, 7, 15, tzinfo=ZoneInfo("Asia/Tokyo")))
    env = env | {"NEWSLETTER_TIMEZONE": "Asia/Tokyo"}
    add_reader(tmp_path, env, upstream_clock)

    result = newsletter(tmp_path, env, upstream_clock, "Asia/Tokyo", "run")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "edition 2026-11-30: done, 1 sent now, 1 sent in total\n"
    assert "collect: 38 papers (hf_daily 30, arxiv_rss:cs.LG 8)" in result.stderr
    assert sorted({h.query["date"] for h in fake_hf.requests()}) == [
        "2026-11-27",
        "2026-11-28",
        "2026-11-29",
    ]
    assert delivered(tmp_path) == 1

    status = newsletter(tmp_path, env, upstream_clock, "Asia/Tokyo", "status")
    assert "  latest complete: edition 2026-11-30, frozen, 1 sent\n" in status.stdout
    assert (
        "  next digest: arXiv announcement of Tue 1 Dec + HF list of Mon 30 Nov UTC,"
        " complete at Tue 01 Dec 14:00 JST\n"
    ) in status.stdout


def test_new_york_at_2330_sends_the_days_edition(
    tmp_path: Path,
    env: dict[str, str],
    fake_hf: FakeHF,
    fake_arxiv: FakeArxiv,
    upstream_clock: FakeClock,
) -> None:
    """23:30 in New York: Wednesday's announcement came out at 20:00, its feed at
    midnight; Tuesday's edition is the one complete now."""
    fake_hf.add_day(MON, 12)
    fake_hf.add_day(TUE, 15)  # over in UTC (04:30), but it belongs to Wednesday's edition
    fake_arxiv.announce(TUE, 5)
    upstream_clock.set(dt.datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo("America/New_York")))
    add_reader(tmp_path, env, upstream_clock)

    result = newsletter(tmp_path, env, upstream_clock, "America/New_York", "run")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "edition 2026-12-01: done, 1 sent now, 1 sent in total\n"
    assert {h.query["date"] for h in fake_hf.requests()} == {"2026-11-30"}


def test_an_edition_not_complete_is_refused_in_one_line_and_nothing_changes(
    tmp_path: Path,
    env: dict[str, str],
    fake_hf: FakeHF,
    fake_arxiv: FakeArxiv,
    upstream_clock: FakeClock,
) -> None:
    upstream_clock.set(dt.datetime(2026, 12, 1, 4, 59, tzinfo=dt.UTC))
    add_reader(tmp_path, env, upstream_clock)
    database = tmp_path / "db" / "newsletter.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    for args in (("run", "--date", "2026-12-01"), ("run", "--dry-run", "--date", "2026-12-02")):
        result = newsletter(tmp_path, env, upstream_clock, "UTC", *args)
        assert result.returncode == 2  # a usage error (README, exit statuses)
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith("error: --date: the edition of ")
        assert "is not complete before" in line
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    assert fake_hf.requests() == [] and fake_arxiv.requests() == []


def test_an_outage_waits_with_exit_3_and_the_next_cron_run_sends(
    tmp_path: Path,
    env: dict[str, str],
    fake_hf: FakeHF,
    fake_arxiv: FakeArxiv,
    upstream_clock: FakeClock,
) -> None:
    fake_hf.add_day(MON, 25)
    fake_arxiv.announce(TUE, 6)
    fake_hf.fail("/api/daily_papers", until=dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC))
    upstream_clock.set(dt.datetime(2026, 12, 1, 7, 15, tzinfo=dt.UTC))
    add_reader(tmp_path, env, upstream_clock)

    dry = newsletter(tmp_path, env, upstream_clock, "UTC", "run", "--dry-run", "--out", "look")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(
        f"dry run for 2026-12-01: 1 email written into {tmp_path / 'look'}, none sent;"
        " the real run would wait: waiting for hf_daily ("
    )
    waiting = newsletter(tmp_path, env, upstream_clock, "UTC", "-q", "run")
    assert waiting.returncode == 3
    assert waiting.stdout == (
        "edition 2026-12-01: waiting for hf_daily (HTTP 503 after 1 attempt);"
        " nothing frozen, the next run tries again; from 2026-12-01 13:00 UTC the digest goes"
        " out without it (MISSING_SOURCE_POLICY=wait, MISSING_SOURCE_WAIT_HOURS=8)\n"
    )
    assert delivered(tmp_path) == 0

    upstream_clock.set(dt.datetime(2026, 12, 1, 8, 15, tzinfo=dt.UTC))
    sent = newsletter(tmp_path, env, upstream_clock, "UTC", "-q", "run")
    assert sent.returncode == 0, sent.stderr
    assert (sent.stdout, sent.stderr) == ("", "")  # -q: a digest sent is no news for cron
    assert delivered(tmp_path) == 1
    assert sorted(p.name for p in (tmp_path / "look").iterdir()) == [
        "2026-12-01-ada@example.org.eml",
        "2026-12-01-ada@example.org.html",
    ]

    upstream_clock.set(dt.datetime(2026, 12, 1, 9, 15, tzinfo=dt.UTC))
    again = newsletter(tmp_path, env, upstream_clock, "UTC", "-q", "run")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")  # nothing new: silent


def test_a_holiday_says_so_in_one_line_and_exits_0(
    tmp_path: Path,
    env: dict[str, str],
    fake_hf: FakeHF,
    fake_arxiv: FakeArxiv,
    upstream_clock: FakeClock,
) -> None:
    """The line the README quotes, once (not "no digest for D: no digest for D: ...")."""
    fake_arxiv.holidays.add(TUE)
    fake_hf.add_day(MON, 0)
    upstream_clock.set(dt.datetime(2026, 12, 1, 7, 15, tzinfo=dt.UTC))
    add_reader(tmp_path, env, upstream_clock)

    result = newsletter(tmp_path, env, upstream_clock, "UTC", "run")

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "no digest for 2026-12-01: every arXiv source answered and none announced a paper"
        " (an arXiv holiday), and Hugging Face had none\n"
    )
    assert delivered(tmp_path) == 0
