"""The systemd units and the crontab example in contrib/ are valid and run ``newsletter run``,
often enough: the documented schedule, played on the test's clock against fake upstreams
with an outage, makes every edition once, whole, as soon as it can."""

from __future__ import annotations

import asyncio
import configparser
import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import click

from newsletter import pipeline, schedule
from newsletter.cli import main
from newsletter.config import Settings
from newsletter.edition_day import complete_at, latest_complete
from newsletter.store import editions, subscribers
from newsletter.store.db import Store
from newsletter.store.secret import signer_for
from tests.support.clock import FakeClock
from tests.support.fake_arxiv import FakeArxiv
from tests.support.fake_hf import FakeHF
from tests.support.needs import need

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
VENV_SCRIPT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "newsletter"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((CONTRIB / name).read_text())
    return parser


def verify(folder: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(folder / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=folder,
    )


def installed_copy(tmp_path: Path, timer_text: str | None = None) -> Path:
    """The units as an operator installs them: /opt/newsletter becomes a real install folder
    (systemd-analyze checks that ExecStart is executable); nothing else changes."""
    app = tmp_path / "app"
    (app / ".venv" / "bin").mkdir(parents=True)
    (app / ".venv" / "bin" / "newsletter").symlink_to(shutil.which("newsletter") or VENV_SCRIPT)
    for name in ("newsletter.service", "newsletter.timer", "newsletter-serve.service"):
        text = (CONTRIB / name).read_text()
        if name.endswith(".timer") and timer_text is not None:
            text = timer_text
        (tmp_path / name).write_text(text.replace("/opt/newsletter", str(app)))
    return tmp_path


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    need(shutil.which("systemd-analyze"), "systemd-analyze not installed (apt package systemd)")
    need(VENV_SCRIPT.exists() or shutil.which("newsletter"), "newsletter script not installed")
    result = verify(
        installed_copy(tmp_path),
        "newsletter.service",
        "newsletter.timer",
        "newsletter-serve.service",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_verify_rejects_a_broken_serve_unit(tmp_path: Path) -> None:
    """The check can fail for the web app's unit too: a relative ExecStart is refused."""
    need(shutil.which("systemd-analyze"), "systemd-analyze not installed (apt package systemd)")
    folder = installed_copy(tmp_path)
    unit_file = folder / "newsletter-serve.service"
    text = unit_file.read_text()
    unit_file.write_text(text.replace("ExecStart=/", "ExecStart=", 1))
    assert verify(folder, "newsletter-serve.service").returncode != 0


def test_the_serve_unit_runs_newsletter_serve_with_options_that_exist() -> None:
    """Before: the README spoke of a unit for `serve` that contrib/ did not have."""
    service = unit("newsletter-serve.service")["Service"]
    program, *args = service["ExecStart"].split()
    assert program == "/opt/newsletter/.venv/bin/newsletter" and args[0] == "serve"
    assert service["WorkingDirectory"] == unit("newsletter.service")["Service"]["WorkingDirectory"]
    assert service["User"] == unit("newsletter.service")["Service"]["User"]
    assert service["Restart"] == "on-failure"
    serve = main.get_command(click.Context(main), "serve")
    assert serve is not None
    parsed = serve.make_context("serve", args[1:]).params
    assert parsed == {
        "host": "127.0.0.1",
        "port": 8000,
        "proxy_headers": True,
        "forwarded_allow_ips": "127.0.0.1",
    }


def test_verify_rejects_a_broken_timer(tmp_path: Path) -> None:
    """The check above can fail: a timer without a valid schedule is refused."""
    need(shutil.which("systemd-analyze"), "systemd-analyze not installed (apt package systemd)")
    broken = (CONTRIB / "newsletter.timer").read_text().replace("OnCalendar=", "OnCalendar=soon#")
    result = verify(installed_copy(tmp_path, broken), "newsletter.service", "newsletter.timer")
    assert result.returncode != 0


def test_timer_is_persistent_and_starts_the_daily_run() -> None:
    timer = unit("newsletter.timer")
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "newsletter.service"
    service = unit("newsletter.service")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].endswith("/newsletter run")
    assert "3" in service["Service"]["SuccessExitStatus"].split()


def cron_line() -> list[str]:
    lines = [
        line
        for line in (CONTRIB / "crontab.example").read_text().splitlines()
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]
    ]
    assert len(lines) == 1
    return lines[0].split()


def test_crontab_example_runs_newsletter_run_every_hour() -> None:
    minute, hour, dom, month, dow, *command = cron_line()
    assert re.fullmatch(r"\d+", minute) and hour == "*"
    assert (dom, month, dow) == ("*", "*", "*")
    assert " ".join(command).endswith("newsletter -q run")


def cron_firings(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """When the documented cron line fires between ``start`` and ``end`` (cron in UTC)."""
    minute, hour, *_ = cron_line()
    assert hour == "*"
    first = start.replace(minute=int(minute), second=0, microsecond=0)
    if first < start:
        first += dt.timedelta(hours=1)
    return [
        first + dt.timedelta(hours=i) for i in range(int((end - first) / dt.timedelta(hours=1)) + 1)
    ]


def test_the_timer_fires_when_the_cron_line_does() -> None:
    need(shutil.which("systemd-analyze"), "systemd-analyze not installed (apt package systemd)")
    on_calendar = unit("newsletter.timer")["Timer"]["OnCalendar"]
    base = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
    result = subprocess.run(
        [
            "systemd-analyze",
            "calendar",
            "--iterations=48",
            f"--base-time={base:%Y-%m-%d %H:%M:%S} UTC",
            on_calendar,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    stamps = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+) UTC", result.stdout)
    timer = [dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC) for s in stamps]
    assert len(timer) == 48
    assert timer == cron_firings(base, timer[-1])


def test_the_documented_schedule_makes_each_edition_once_and_waits_out_an_outage(
    tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeArxiv, upstream_clock: FakeClock
) -> None:
    """Monday to Wednesday morning, hourly as documented; Hugging Face down on Tuesday
    from 04:00 to 09:40 UTC."""
    mon, tue, wed = dt.date(2026, 11, 30), dt.date(2026, 12, 1), dt.date(2026, 12, 2)
    for day in (dt.date(2026, 11, 27), dt.date(2026, 11, 28), dt.date(2026, 11, 29), mon, tue):
        fake_hf.add_day(day, 5)
    for day in (mon, tue, wed):
        fake_arxiv.announce(day, 3)
    outage = (
        dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 9, 40, tzinfo=dt.UTC),
    )
    fake_hf.fail(
        "/api/daily_papers", until=outage[1], where=lambda q: upstream_clock() >= outage[0]
    )
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'newsletter.db'}",
        sources="hf_daily,arxiv_rss:cs.LG",
        hf_daily_url=fake_hf.url + "/api/daily_papers",
        arxiv_rss_url=fake_arxiv.url + "/rss/",
        arxiv_api_url=fake_arxiv.url + "/api/query",
        http_retries=0,
        arxiv_request_interval=0,
        delivery="maildir",
        outbox_dir=tmp_path / "outbox",
        archive_dir=tmp_path / "archive",
        secret_key="k" * 32,
    )
    start = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
    store = Store.open(settings.database_url, now=start)
    with store.begin() as conn:
        subscribers.add(conn, "ada@example.org", now=start)
    outcomes: dict[dt.datetime, tuple[dt.date, str, int]] = {}
    for when in cron_firings(start, dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)):
        upstream_clock.set(when)
        date = schedule.default_edition(when, settings)
        report = asyncio.run(
            pipeline.run_daily(
                store, settings, signer_for(settings), date=date, clock=upstream_clock
            )
        )
        outcomes[when] = (date, report.outcome, report.sent.sent_now if report.sent else 0)

    sends = [(when, date) for when, (date, _, sent_now) in outcomes.items() if sent_now]
    utc = dt.UTC
    assert sends == [
        (dt.datetime(2026, 11, 30, 5, 15, tzinfo=utc), mon),  # first firing once complete
        (dt.datetime(2026, 12, 1, 10, 15, tzinfo=utc), tue),  # first firing after the outage
        (dt.datetime(2026, 12, 2, 5, 15, tzinfo=utc), wed),
    ]
    waited = [when for when, (_, outcome, _) in outcomes.items() if outcome == "waiting"]
    assert waited == [dt.datetime(2026, 12, 1, h, 15, tzinfo=utc) for h in range(5, 10)]
    with store.begin() as conn:
        for day in (mon, tue, wed):
            edition = editions.get_by_date(conn, day)
            assert edition is not None and edition.missing == ()
            assert edition.created_at >= complete_at(day)
        assert len(editions.get_by_date(conn, tue).papers) == 5 + 3  # Monday's HF list, whole


def test_the_documented_daily_timer_sends_each_edition_the_day_it_is_complete() -> None:
    """The timer explains its time against TIMEZONE and gives a daily example with a zone;
    over a year (both daylight-saving switches, New York's and Berlin's) every firing of
    the example comes after that day's edition is complete, so it sends that edition."""
    need(shutil.which("systemd-analyze"), "systemd-analyze not installed (apt package systemd)")
    text = (CONTRIB / "newsletter.timer").read_text()
    assert "NEWSLETTER_TIMEZONE" in text
    [example] = re.findall(r"^#\s+OnCalendar=(.+)$", text, flags=re.MULTILINE)
    assert f"OnCalendar={example}" in (CONTRIB.parent / "README.md").read_text()
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    result = subprocess.run(
        [
            "systemd-analyze",
            "calendar",
            "--iterations=261",
            f"--base-time={base:%Y-%m-%d %H:%M:%S} UTC",
            example,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    stamps = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+) UTC", result.stdout)
    firings = [dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC) for s in stamps]
    assert len(firings) == 261 and firings[-1] > base + dt.timedelta(days=360)
    late = [t for t in firings if latest_complete(t) != t.date()]
    assert late == []
