"""The daily run against upstreams that behave like the real ones, on the test's clock.

Fake Hugging Face and arXiv servers on 127.0.0.1 (``tests/support/upstreams``) answer
from the same clock the pipeline is given; a real SQLite database; delivery into a real
Maildir. Covered: the edition a run makes at any hour anywhere, partial and total
outages under each ``MISSING_SOURCE_POLICY``, holidays, a dry run that changes nothing,
and dates that are refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import hashlib
import mailbox
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from newsletter import pipeline, schedule
from newsletter.config import Settings
from newsletter.edition_day import complete_at, hf_days
from newsletter.errors import InputError
from newsletter.models import Profile
from newsletter.outbox import alerts
from newsletter.store import editions, ledger, runs, subscribers
from newsletter.store.db import Store
from newsletter.store.secret import signer_for
from tests.support.clock import FakeClock
from tests.support.fake_arxiv import UTC, FakeArxiv
from tests.support.fake_hf import FakeHF

MON, TUE = dt.date(2026, 11, 30), dt.date(2026, 12, 1)
READERS = ("ada@example.org", "grace@example.org")
SOURCES = "hf_daily,arxiv_rss:cs.LG,arxiv_api:cat:cs.LG"


def make_settings(tmp_path: Path, hf: FakeHF, arxiv: FakeArxiv, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'db' / 'newsletter.db'}",
        "sources": SOURCES,
        "hf_daily_url": hf.url + "/api/daily_papers",
        "arxiv_rss_url": arxiv.url + "/rss/",
        "arxiv_api_url": arxiv.url + "/api/query",
        "http_retries": 0,
        "http_timeout": 5,
        "arxiv_request_interval": 0.0,
        "delivery": "maildir",
        "outbox_dir": tmp_path / "outbox",
        "archive_dir": tmp_path / "archive",
        "secret_key": "s" * 32,
        "base_url": "https://papers.example.org",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)


def open_store(settings: Settings, clock: FakeClock, readers: tuple[str, ...] = READERS) -> Store:
    store = Store.open(settings.database_url, now=clock())
    with store.begin() as conn:
        for address in readers:
            subscribers.add(conn, address, now=clock(), profile=Profile(topics=("agents",)))
    return store


def run(
    store: Store, settings: Settings, clock: FakeClock, date: dt.date | None = None, **kwargs: Any
) -> pipeline.RunReport:
    day = date or schedule.default_edition(clock(), settings)
    coroutine = pipeline.run_daily(
        store, settings, signer_for(settings), date=day, clock=clock, **kwargs
    )
    return asyncio.run(coroutine)


def sent(tmp_path: Path) -> list[email.message.EmailMessage]:
    box = tmp_path / "outbox"
    if not box.exists():
        return []
    found = []
    for message in mailbox.Maildir(box, create=False):
        parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        found.append(parsed)
    return found


def frozen(store: Store, day: dt.date) -> Any:
    with store.begin() as conn:
        return editions.get_by_date(conn, day)


def a_full_tuesday(hf: FakeHF, arxiv: FakeArxiv) -> set[str]:
    """Monday's HF list and Tuesday's arXiv announcement: the ids of Tuesday's edition."""
    ids = set(hf.add_day(MON, 62)) | set(arxiv.announce(TUE, 12))
    hf.add_day(TUE, 40)  # filling up during Tuesday: Wednesday's edition
    arxiv.announce(MON, 5)  # in the API's window, but not new to Monday's edition
    return ids | {i for i in arxiv_ids(arxiv, MON)}


def arxiv_ids(arxiv: FakeArxiv, day: dt.date) -> list[str]:
    return [p.arxiv_id for p in arxiv.papers if p.day == day]


# --- the edition a run makes, wherever and whenever it runs


def test_a_morning_run_makes_the_latest_complete_edition_whole(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    wanted = a_full_tuesday(fake_hf, fake_arxiv)
    settings = make_settings(tmp_path, fake_hf, fake_arxiv)
    store = open_store(settings, upstream_clock)

    report = run(store, settings, upstream_clock)  # Tuesday 07:15 UTC

    assert (report.date, report.outcome) == (TUE, "ok"), report.reason
    edition = frozen(store, TUE)
    assert {p.arxiv_id for p in edition.papers} == wanted  # 62 HF papers, not 50
    assert edition.sources == ("hf_daily", "arxiv_rss:cs.LG", "arxiv_api:cat:cs.LG")
    assert edition.missing == ()
    assert len(sent(tmp_path)) == 2
    assert {h.query["date"] for h in fake_hf.requests()} == {"2026-11-30"}


NOV, DST = dt.date(2026, 11, 23), dt.date(2026, 3, 2)  # DST: New York moves on 8 March


@pytest.mark.parametrize(
    ("zone", "clock_time", "week"),
    [
        ("UTC", (7, 15), NOV),
        ("UTC", (23, 30), NOV),
        ("Asia/Tokyo", (7, 15), NOV),
        ("Asia/Tokyo", (23, 30), NOV),
        ("America/Bogota", (7, 15), NOV),
        ("America/Bogota", (23, 30), NOV),
        ("UTC", (7, 15), DST),
        ("America/Bogota", (23, 30), DST),
    ],
    ids=lambda value: str(value).replace("/", "-").replace(" ", ""),
)
def test_a_daily_cron_anywhere_sends_every_edition_once_and_whole(
    tmp_path: Path,
    fake_hf: FakeHF,
    fake_arxiv: FakeArxiv,
    upstream_clock: FakeClock,
    zone: str,
    clock_time: tuple[int, int],
    week: dt.date,
) -> None:
    """UTC, UTC+9 and UTC-5 installs, cron at 07:15 and 23:30 local time, for eight days
    (the "dst" weeks cross the change of 8 March 2026 in New York)."""
    days = [week + dt.timedelta(days=i) for i in range(10)]
    for day in [week - dt.timedelta(days=i) for i in range(1, 5)] + days:
        fake_hf.add_day(day, 3 + day.day % 4)
        if day.weekday() < 5:
            fake_arxiv.announce(day, 2 + day.day % 3)
    settings = make_settings(
        tmp_path, fake_hf, fake_arxiv, timezone=zone, sources="hf_daily,arxiv_rss:cs.LG"
    )
    upstream_clock.set(dt.datetime.combine(week, dt.time(*clock_time), ZoneInfo(zone)))
    store = open_store(settings, upstream_clock, READERS[:1])
    made: list[dt.date] = []
    for _ in range(8):
        report = run(store, settings, upstream_clock)
        assert report.outcome in ("ok", "nothing"), report.reason
        if report.sent is not None and report.sent.sent_now:
            made.append(report.date)
        upstream_clock.advance(days=1)
    assert len(made) == len(set(made))  # never twice
    expected = [d for d in days[1:7] if d.weekday() < 5]
    assert set(expected) <= set(made)
    for day in made:
        edition = frozen(store, day)
        hf_wanted = {
            i for d in hf_days(day) for _, item in fake_hf.days[d] for i in [item["paper"]["id"]]
        }
        assert {p.arxiv_id for p in edition.papers} == hf_wanted | set(arxiv_ids(fake_arxiv, day))
    assert len(sent(tmp_path)) == len(made)


# --- failures are never quiet


def test_wait_policy_freezes_nothing_until_the_source_is_back(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    wanted = a_full_tuesday(fake_hf, fake_arxiv)
    fake_hf.fail("/api/daily_papers", until=dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    settings = make_settings(tmp_path, fake_hf, fake_arxiv)
    store = open_store(settings, upstream_clock)

    first = run(store, settings, upstream_clock)
    assert first.outcome == "waiting"
    assert first.reason == (
        "waiting for hf_daily (HTTP 503 after 1 attempt); nothing frozen,"
        " the next run tries again; from 2026-12-01 13:00 UTC the digest goes out without it"
        " (MISSING_SOURCE_POLICY=wait, MISSING_SOURCE_WAIT_HOURS=8)"
    )
    assert frozen(store, TUE) is None and sent(tmp_path) == []
    assert alerts.decide(first, settings) is None  # waiting is not yet a problem to mail

    upstream_clock.set(dt.datetime(2026, 12, 1, 9, 15, tzinfo=UTC))
    second = run(store, settings, upstream_clock)
    assert second.outcome == "ok", second.reason
    assert {p.arxiv_id for p in frozen(store, TUE).papers} == wanted
    assert len(sent(tmp_path)) == 2
    with store.begin() as conn:
        assert [r.outcome for r in runs.recent(conn)] == ["ok", "waiting"]


def test_wait_policy_sends_without_the_source_after_the_deadline_and_says_so(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    a_full_tuesday(fake_hf, fake_arxiv)
    fake_hf.fail("/api/daily_papers")
    settings = make_settings(tmp_path, fake_hf, fake_arxiv, missing_source_wait_hours=2)
    store = open_store(settings, upstream_clock)
    upstream_clock.set(complete_at(TUE) + dt.timedelta(hours=1, minutes=59))
    assert run(store, settings, upstream_clock).outcome == "waiting"

    upstream_clock.set(complete_at(TUE) + dt.timedelta(hours=2))
    report = run(store, settings, upstream_clock)

    assert report.outcome == "partial"
    assert report.missing == ("hf_daily: HTTP 503 after 1 attempt",)
    edition = frozen(store, TUE)
    assert edition.missing == (("hf_daily", "HTTP 503 after 1 attempt"),)
    assert "hf_daily" not in edition.sources
    assert all("hf_daily" not in p.sources for p in edition.papers)
    assert len(sent(tmp_path)) == 2
    alert = alerts.decide(report, settings)
    assert alert is not None and alert.problem == "the digest went out without hf_daily"
    # A later run of the same edition sends nothing more and does not alert again.
    again = run(store, settings, upstream_clock)
    assert (again.outcome, again.missing) == ("ok", ())
    assert len(sent(tmp_path)) == 2


def test_send_policy_sends_what_there_is_at_once(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    a_full_tuesday(fake_hf, fake_arxiv)
    fake_arxiv.fail("/rss/")
    settings = make_settings(tmp_path, fake_hf, fake_arxiv, missing_source_policy="send")
    store = open_store(settings, upstream_clock)

    report = run(store, settings, upstream_clock)

    assert report.outcome == "partial"
    assert report.missing == ("arxiv_rss:cs.LG: HTTP 503 after 1 attempt",)
    assert len(sent(tmp_path)) == 2
    # the API still brought Tuesday's announcement
    assert set(arxiv_ids(fake_arxiv, TUE)) <= {p.arxiv_id for p in frozen(store, TUE).papers}


def test_every_source_down_waits_then_fails_never_nothing_announced(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    fake_hf.fail("/")
    fake_arxiv.fail("/")
    settings = make_settings(tmp_path, fake_hf, fake_arxiv)
    store = open_store(settings, upstream_clock)
    assert run(store, settings, upstream_clock).outcome == "waiting"
    upstream_clock.set(complete_at(TUE) + dt.timedelta(hours=8))
    report = run(store, settings, upstream_clock)
    assert report.outcome == "failed"
    assert report.reason.startswith("every source failed: hf_daily: HTTP 503")
    assert frozen(store, TUE) is None


def test_a_failed_source_with_everything_else_already_sent_is_not_a_quiet_day(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    """The issue's case: HF down and every arXiv paper already sent. Not "nothing announced"."""
    fake_hf.add_day(MON, 3)
    fake_arxiv.announce(TUE, 6)
    settings = make_settings(tmp_path, fake_hf, fake_arxiv, sources="hf_daily,arxiv_api:cat:cs.LG")
    store = open_store(settings, upstream_clock)
    assert run(store, settings, upstream_clock).outcome == "ok"
    # Wednesday: HF is down, and the API's window brings back only Tuesday's papers.
    fake_hf.fail("/api/daily_papers")
    wednesday = dt.datetime(2026, 12, 2, 7, 15, tzinfo=UTC)
    upstream_clock.set(wednesday)
    assert run(store, settings, upstream_clock).outcome == "waiting"
    upstream_clock.set(wednesday + dt.timedelta(hours=8))
    late = run(store, settings, upstream_clock)
    assert late.outcome == "failed"
    assert late.reason == (
        "no digest for 2026-12-02: hf_daily failed (HTTP 503 after 1 attempt)"
        " and the other sources had no new papers"
    )
    assert alerts.decide(late, settings) is not None


def test_a_holiday_is_quiet_and_alerts_nobody(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    fake_arxiv.holidays.add(TUE)
    settings = make_settings(tmp_path, fake_hf, fake_arxiv)
    store = open_store(settings, upstream_clock)
    fake_hf.add_day(MON, 0)

    report = run(store, settings, upstream_clock)

    assert report.outcome == "holiday"
    assert report.reason == (
        "no digest for 2026-12-01: every arXiv source answered and none announced a paper"
        " (an arXiv holiday), and Hugging Face had none"
    )
    assert alerts.decide(report, settings) is None
    assert frozen(store, TUE) is None and sent(tmp_path) == []


def test_a_holiday_after_an_announcement_the_api_brings_back_is_still_quiet(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    """arxiv_api asks for the previous announcement's window too: on a holiday it answers
    with Monday's papers, which Monday's edition already sent. That is still a holiday."""
    monday = fake_arxiv.announce(MON, 10)
    fake_arxiv.holidays.add(TUE)
    fake_hf.add_day(dt.date(2026, 11, 27), 0)
    fake_hf.add_day(MON, 0)
    settings = make_settings(tmp_path, fake_hf, fake_arxiv)
    store = open_store(settings, upstream_clock)
    upstream_clock.set(dt.datetime(2026, 11, 30, 7, 15, tzinfo=UTC))
    assert run(store, settings, upstream_clock).outcome == "ok"
    assert {p.arxiv_id for p in frozen(store, MON).papers} == set(monday)

    upstream_clock.set(dt.datetime(2026, 12, 1, 7, 15, tzinfo=UTC))
    report = run(store, settings, upstream_clock)

    assert report.outcome == "holiday", report.reason
    assert alerts.decide(report, settings) is None
    assert frozen(store, TUE) is None and len(sent(tmp_path)) == len(READERS)


def test_a_holiday_with_hf_papers_still_sends_them(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    fake_arxiv.holidays.add(TUE)
    ids = fake_hf.add_day(MON, 9)
    settings = make_settings(tmp_path, fake_hf, fake_arxiv)
    store = open_store(settings, upstream_clock)
    report = run(store, settings, upstream_clock)
    assert report.outcome == "ok"
    assert {p.arxiv_id for p in frozen(store, TUE).papers} == set(ids)
    assert "collect: arXiv announced nothing for 2026-12-01 (a holiday)" in report.stages


# --- dates that are refused


def test_an_edition_not_complete_yet_is_refused(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    settings = make_settings(tmp_path, fake_hf, fake_arxiv)
    store = open_store(settings, upstream_clock)
    wednesday = dt.date(2026, 12, 2)
    for dry_run in (False, True):
        with pytest.raises(InputError) as info:
            run(store, settings, upstream_clock, wednesday, dry_run=dry_run)
        assert str(info.value) == (
            "--date: the edition of Wed 2 Dec 2026 is not complete before 2026-12-02 05:00 UTC"
            " (arXiv announcement of Wed 2 Dec + HF list of Tue 1 Dec UTC)"
        )
    assert fake_hf.requests() == [] and fake_arxiv.requests() == []
    with store.begin() as conn:
        assert runs.recent(conn) == [] and editions.latest(conn) is None


def test_a_weekend_date_is_refused(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    settings = make_settings(tmp_path, fake_hf, fake_arxiv)
    store = open_store(settings, upstream_clock)
    with pytest.raises(InputError, match="Sun 29 Nov 2026 is not an arXiv announcement day"):
        run(store, settings, upstream_clock, dt.date(2026, 11, 29))


# --- a dry run changes nothing


def digest_of(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def test_a_dry_run_during_an_outage_changes_nothing_and_the_real_run_collects_afresh(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    wanted = a_full_tuesday(fake_hf, fake_arxiv)
    fake_hf.fail("/api/daily_papers", until=dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    settings = make_settings(
        tmp_path, fake_hf, fake_arxiv, imap_host="127.0.0.1", imap_port=1, imap_username="u"
    )
    store = open_store(settings, upstream_clock)
    before = digest_of(tmp_path / "db")
    out = tmp_path / "look"

    dry = run(store, settings, upstream_clock, dry_run=True, out=out)

    assert dry.outcome == "dry-run"
    assert dry.counts["rendered"] == 2
    assert dry.reason.startswith("the real run would wait: waiting for hf_daily (")
    assert digest_of(tmp_path / "db") == before  # no edition, ledger, run record, lock
    assert not (tmp_path / "archive").exists() and not (tmp_path / "outbox").exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "2026-12-01-ada@example.org.eml",
        "2026-12-01-ada@example.org.html",
        "2026-12-01-grace@example.org.eml",
        "2026-12-01-grace@example.org.html",
    ]
    look = email.message_from_bytes(
        (out / "2026-12-01-ada@example.org.eml").read_bytes(), policy=email.policy.default
    )
    assert look["To"] == "ada@example.org"
    assert "<html" in (out / "2026-12-01-ada@example.org.html").read_text()

    upstream_clock.set(dt.datetime(2026, 12, 1, 9, 15, tzinfo=UTC))
    real = run(store, settings.model_copy(update={"imap_host": None}), upstream_clock)
    assert real.outcome == "ok", real.reason
    assert {p.arxiv_id for p in frozen(store, TUE).papers} == wanted  # with HF this time
    assert len(sent(tmp_path)) == 2


def test_a_dry_run_of_a_frozen_edition_renders_it_and_writes_nothing(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    a_full_tuesday(fake_hf, fake_arxiv)
    settings = make_settings(tmp_path, fake_hf, fake_arxiv)
    store = open_store(settings, upstream_clock)
    assert run(store, settings, upstream_clock).outcome == "ok"
    before = digest_of(tmp_path)
    requests = len(fake_hf.requests()) + len(fake_arxiv.requests())

    out = tmp_path.parent / f"{tmp_path.name}-look"
    dry = run(store, settings, upstream_clock, dry_run=True, out=out)

    assert dry.outcome == "dry-run" and dry.counts["rendered"] == 2
    assert digest_of(tmp_path) == before
    assert len(fake_hf.requests()) + len(fake_arxiv.requests()) == requests  # no refetch
    with store.begin() as conn:
        edition = editions.get_by_date(conn, TUE)
        assert edition is not None and ledger.counts(conn, edition.id)["sent"] == 2
