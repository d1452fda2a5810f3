"""`newsletter run` / `newsletter send` when the relay refuses: exit statuses and one alert.

Issue 12 case 4: a relay that refuses the message itself (554 to DATA, 552/554 to the
final dot) used to bounce every reader and exit 0. Now: nobody is scored, the run pauses
after a few identical refusals, exits 1 (nothing went out) or 4 (some did), and
ALERT_EMAIL gets one email per edition and kind of problem, not one per run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from newsletter.cli import main
from newsletter.store.db import Store
from newsletter.store.schema import subscribers as subscribers_table
from tests.support.delivery import utcnow
from tests.support.faultsmtp import FaultServer, Rule

THURSDAY = "2026-11-26"
OPS = "ops@alerts.test"


@pytest.fixture
def server() -> Iterator[FaultServer]:
    running = FaultServer.start()
    yield running
    running.stop()


@pytest.fixture
def env(tmp_path: Path, server: FaultServer) -> dict[str, str]:
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'newsletter.db'}",
        "SOURCES": "sample",
        "DELIVERY": "smtp",
        "SMTP_HOST": server.host,
        "SMTP_PORT": str(server.port),
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT": "5",
        "SMTP_CONCURRENCY": "1",
        "SECRET_KEY": "x" * 32,
        "ALERT_EMAIL": OPS,
    }
    env = {f"NEWSLETTER_{k}": v for k, v in values.items()}
    for i in range(10):
        added = cli(env, "subscribers", "add", f"reader{i}@example.org", "--topic", "robots")
        assert added.exit_code == 0, added.output
    return env


def cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def alerts(server: FaultServer) -> list[bytes]:
    return [data for _sender, rcpts, data in server.script.accepted if rcpts == [OPS]]


def readers(env: dict[str, str]) -> set[tuple[str, float]]:
    store = Store.open(env["NEWSLETTER_DATABASE_URL"], now=utcnow())
    with store.begin() as conn:
        rows = conn.execute(
            select(subscribers_table.c.status, subscribers_table.c.bounce_score)
        ).all()
    store.close()
    return {(status, score) for status, score in rows}


def test_a_relay_refusing_the_message_stops_the_run_alerts_once_and_bounces_nobody(
    env: dict[str, str], server: FaultServer
) -> None:
    server.script.rules.append(Rule("data", "554 Transaction failed", match="@example.org"))
    first = cli(env, "run", "--date", THURSDAY)
    assert first.exit_code == 1, first.output
    last = first.stderr.strip().splitlines()[-1]
    assert last.startswith("error: sending stopped: 3 messages refused the same way")
    assert "554 Transaction failed" in last
    assert readers(env) == {("active", 0.0)}
    [alert] = alerts(server)
    assert b"554 Transaction failed" in alert
    # The next run meets the same refusal: same exit, no second alert for this edition.
    again = cli(env, "run", "--date", THURSDAY)
    assert again.exit_code == 1
    assert len(alerts(server)) == 1
    # The relay is fixed: the rest goes out, once each; the edition is still partly
    # failed (the refused messages), until the operator sends them again.
    server.script.rules.clear()
    fixed = cli(env, "run", "--date", THURSDAY)
    assert fixed.exit_code == 4, fixed.output
    assert fixed.stdout.startswith(
        "edition 2026-11-26: partly failed, 4 sent now, 4 sent in total, 6 failed"
    )
    readers_mail = [r for _s, rcpts, _d in server.script.accepted for r in rcpts if r != OPS]
    assert len(readers_mail) == len(set(readers_mail)) == 4
    resent = cli(env, "send", "--resend-failed", "--date", THURSDAY)
    assert resent.exit_code == 0, resent.output
    readers_mail = [r for _s, rcpts, _d in server.script.accepted for r in rcpts if r != OPS]
    assert len(readers_mail) == len(set(readers_mail)) == 10
    assert cli(env, "run", "--date", THURSDAY).exit_code == 0
    assert readers(env) == {("active", 0.0)}  # tomorrow's edition reaches all ten


def test_some_sent_then_paused_exits_4(env: dict[str, str], server: FaultServer) -> None:
    for i in (2, 4, 6):
        server.script.rules.append(Rule("body", "554 5.7.1 spam", match=f"reader{i}@"))
    result = cli(env, "run", "--date", THURSDAY)
    assert result.exit_code == 4, result.output
    assert "sending stopped: 3 messages refused the same way" in result.stdout
    assert len(alerts(server)) == 1
    checked = cli(env, "status", "--check")
    assert checked.exit_code == 2
    assert "last run (2026-11-26) partial: sending stopped" in checked.stdout
    # The rest go out; the three refused stay failed, so send says "partly failed" (4) as
    # run does, and the alert already sent is not sent again.
    sent = cli(env, "send", "--date", THURSDAY)
    assert sent.exit_code == 4, sent.output
    assert "7 sent, 3 failed" in sent.stdout
    assert len(alerts(server)) == 1


def test_newsletter_send_exits_1_when_the_setup_is_refused(
    env: dict[str, str], server: FaultServer
) -> None:
    assert cli(env, "run", "--date", THURSDAY, "--dry-run").exit_code == 0
    server.script.rules.append(Rule("mail", "535 5.7.8 Authentication credentials invalid"))
    assert cli(env, "run", "--date", THURSDAY).exit_code == 1
    result = cli(env, "send", "--date", THURSDAY)
    assert result.exit_code == 1
    assert "535" in result.stderr.strip().splitlines()[-1]
    assert readers(env) == {("active", 0.0)}
