"""Issue 14, items 1 to 3, through the command line: what a run says when the relay
refuses, what ``status`` shows of failures, and the recovery commands the alerts and
``status`` advise (each advice is run here, as printed).

Real pieces: the scripted SMTP server (aiosmtpd on 127.0.0.1) as the relay, the bundled
``sample`` source, SQLite and PostgreSQL.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from newsletter.cli import main
from newsletter.config import Settings
from newsletter.outbox.alerts import Alert, alert_for_error, decide
from newsletter.store.db import Store
from newsletter.store.schema import ledger
from tests.support.faultsmtp import FaultServer, Rule

THURSDAY = "2026-11-26"
OPS = "ops@alerts.test"
READERS = [f"reader{i}@example.org" for i in range(3)]


@pytest.fixture
def relay() -> Iterator[FaultServer]:
    running = FaultServer.start()
    yield running
    running.stop()


@pytest.fixture
def env(tmp_path: Path, relay: FaultServer, database_url: str) -> dict[str, str]:
    values = {
        "DATABASE_URL": database_url,
        "SOURCES": "sample",
        "DELIVERY": "smtp",
        "SMTP_HOST": relay.host,
        "SMTP_PORT": str(relay.port),
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT": "5",
        "SMTP_CONCURRENCY": "1",
        "SECRET_KEY": "x" * 32,
        "ALERT_EMAIL": OPS,
    }
    env = {f"NEWSLETTER_{k}": v for k, v in values.items()}
    for email in READERS:
        added = cli(env, "subscribers", "add", email)
        assert added.exit_code == 0, added.output
    return env


def cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def advice(text: str) -> list[list[str]]:
    """Every `newsletter ...` command quoted in a text, as arguments."""
    return [shlex.split(found) for found in re.findall(r"`newsletter ([^`]+)`", text)]


def alert_texts(relay: FaultServer) -> list[tuple[str, str]]:
    found = []
    for _sender, rcpts, data in relay.script.accepted:
        if rcpts == [OPS]:
            message = message_from_bytes(data, policy=policy.default)
            body = message.get_body(("plain",))
            assert body is not None
            found.append((str(message["Subject"]), body.get_content().replace("\r\n", "\n")))
    return found


def copies(relay: FaultServer) -> collections.Counter[str]:
    return collections.Counter(r for _s, rcpts, _d in relay.script.accepted for r in rcpts)


def test_relay_denying_every_message_fails_the_run_and_its_advice_sends_them(
    env: dict[str, str], relay: FaultServer
) -> None:
    relay.script.rules.append(Rule("rcpt", "550 5.7.1 Relaying denied", match="@example.org"))
    run = cli(env, "run", "--date", THURSDAY)
    assert run.exit_code == 1, run.output
    assert run.stderr.splitlines()[-1].startswith("error: sending stopped:")
    assert "550 5.7.1 Relaying denied" in run.stderr.splitlines()[-1]
    status = json.loads(cli(env, "status", "--json").stdout)
    assert status["runs"][0]["outcome"] == "failed"
    checked = cli(env, "status", "--check")
    assert checked.exit_code == 2
    assert "last run (2026-11-26) failed: sending stopped" in checked.stdout
    [(subject, text)] = alert_texts(relay)
    assert "the run failed" in subject
    steps = advice(text.split("Next step:", 1)[1].split("\n\n", 1)[0])
    assert steps == [["send", "--retry", "--now"]]
    # The relay is fixed; the alert's command sends each message once.
    relay.script.rules.clear()
    fixed = cli(env, *steps[0])
    assert fixed.exit_code == 0, fixed.output
    assert {r: copies(relay)[r] for r in READERS} == dict.fromkeys(READERS, 1)
    after = json.loads(cli(env, "status", "--json").stdout)
    assert after["editions"][0]["counts"]["sent"] == 3
    assert after["failures"]["messages"] == [] and after["suppressed"] == []


def test_quiet_failing_run_says_its_reason_once_and_the_alert_line_once(
    env: dict[str, str], relay: FaultServer
) -> None:
    """Before: with -q, "sending stopped: R" (a log line), "ALERT D: R. Next step: …" and
    "error: sending stopped: R" (three times R), and the ALERT line again on every re-run
    although the alert was emailed once."""
    relay.script.rules.append(Rule("rcpt", "550 5.7.1 Relaying denied", match="@example.org"))
    first = cli(env, "-q", "run", "--date", THURSDAY)
    assert first.exit_code == 1, first.output
    lines = first.stderr.splitlines()
    assert sum("550 5.7.1 Relaying denied" in line for line in lines) == 1, lines
    assert lines[-1].startswith("error: sending stopped:")
    [alert] = [line for line in lines if line.startswith("ALERT ")]
    assert alert == (
        "ALERT 2026-11-26: the run failed. Next step: fix what the reason names,"
        " then `newsletter send --retry --now`"
    )
    again = cli(env, "-q", "run", "--date", THURSDAY)
    assert again.exit_code == 1, again.output
    assert [line for line in again.stderr.splitlines() if "ALERT" in line] == []
    assert again.stderr.splitlines()[-1] == lines[-1]
    assert len(alert_texts(relay)) == 1


def test_quiet_run_prints_no_line_per_suppressed_reader(
    env: dict[str, str], relay: FaultServer
) -> None:
    """Before: ``-q run`` printed "subscriber #N suppressed after bounces" for every reader
    a refusal suppressed, a line per reader (growing with the list) before the outcome;
    ``status`` lists them by address instead."""
    for email in READERS[:2]:
        relay.script.rules.append(Rule("rcpt", "550 5.1.1 user unknown", match=email))
    run = cli(env, "-q", "run", "--date", THURSDAY)
    assert run.exit_code == 4, run.output
    assert [line for line in run.stderr.splitlines() if "after bounces" in line] == [], run.stderr
    snapshot = json.loads(cli(env, "status", "--json").stdout)
    assert {row["email"] for row in snapshot["suppressed"]} == set(READERS[:2])


def test_failed_messages_show_their_reply_and_resend_failed_sends_only_them(
    env: dict[str, str], relay: FaultServer
) -> None:
    relay.script.rules.append(Rule("body", "554 5.6.0 message content rejected", match="reader1@"))
    run = cli(env, "run", "--date", THURSDAY)
    assert run.exit_code == 4, run.output
    assert "1 failed" in run.stdout
    snapshot = json.loads(cli(env, "status", "--json").stdout)
    [failed] = snapshot["failures"]["messages"]
    assert (failed["email"], failed["state"]) == ("reader1@example.org", "failed")
    assert failed["last_code"] == 554
    assert "5.6.0 message content rejected" in failed["last_reply"]
    text = cli(env, "status")
    assert "reader1@example.org  failed, 1 attempt," in text.stdout
    checked = cli(env, "status", "--check")
    assert checked.exit_code == 2
    [line] = [p for p in snapshot["problems"] if "1 message failed (last:" in p]
    assert "554 5.6.0 message content rejected" in line
    [step] = advice(line)
    assert step == ["send", "--resend-failed", "--date", THURSDAY]
    relay.script.rules.clear()  # the operator fixed the address (or the relay)
    resent = cli(env, *step)
    assert resent.exit_code == 0, resent.output
    assert resent.stdout.splitlines()[0] == "1 failed message back to pending"
    assert {r: copies(relay)[r] for r in READERS} == dict.fromkeys(READERS, 1)  # sent: untouched
    again = cli(env, *step)
    assert again.stdout.splitlines()[0] == "0 failed messages back to pending"
    assert {r: copies(relay)[r] for r in READERS} == dict.fromkeys(READERS, 1)
    after = json.loads(cli(env, "status", "--json").stdout)
    assert after["failures"]["messages"] == []


def test_every_reader_refused_fails_the_run_once_and_lists_the_bounced_readers(
    env: dict[str, str], relay: FaultServer
) -> None:
    relay.script.rules.append(Rule("rcpt", "550 5.1.1 mailbox unavailable", match="@example.org"))
    run = cli(env, "run", "--date", THURSDAY)
    assert run.exit_code == 1, run.output
    assert run.stderr.splitlines()[-1] == (
        "error: 3 messages failed permanently (see `newsletter status`)"
    )
    again = cli(env, "run", "--date", THURSDAY)  # a re-run: still failed, not "done"
    assert again.exit_code == 1, again.output
    status = json.loads(cli(env, "status", "--json").stdout)
    assert [r["outcome"] for r in status["runs"]] == ["failed", "failed"]
    assert len(alert_texts(relay)) == 1  # one alert per (edition, kind), not one per run
    # New readers refused as unknown mailboxes are suppressed; status says who and why.
    assert {(r["email"], r["reason"]) for r in status["suppressed"]} == {
        (email, "refused: 550 5.1.1 mailbox unavailable") for email in READERS
    }
    checked = cli(env, "status", "--check")
    assert checked.exit_code == 2
    assert "reader reader0@example.org bounced since" in checked.stdout
    [(_subject, text)] = alert_texts(relay)
    # Before: the advice was `send --resend-failed` alone, which does nothing here.
    next_step = " ".join(text.split("Next step:", 1)[1].split("\n\n", 1)[0].split())
    assert "every failed reader was suppressed" in next_step
    reactivate, step = advice(next_step)[-2:]
    assert reactivate == ["subscribers", "reactivate", "reader0@example.org"]
    assert step == ["send", "--resend-failed", "--date", THURSDAY]
    relay.script.rules.clear()
    resent = cli(env, *step)  # a bounced reader is not written to again
    assert resent.stdout.splitlines()[0].startswith(
        "0 failed messages back to pending (3 readers left out, bounced, unsubscribed or not"
        " confirmed: reader0@example.org, reader1@example.org, reader2@example.org;"
    )
    assert sum(copies(relay)[r] for r in READERS) == 0
    # The alert's advice, followed: each reader made active, then the resend sends them.
    for email in READERS:
        assert cli(env, *reactivate[:2], email).exit_code == 0
    followed = cli(env, *step)
    assert followed.exit_code == 0, followed.output
    assert {r: copies(relay)[r] for r in READERS} == dict.fromkeys(READERS, 1)


def test_deferred_messages_wait_and_retry_now_sends_them(
    env: dict[str, str], relay: FaultServer
) -> None:
    relay.script.rules.append(Rule("rcpt", "451 4.7.1 greylisted, try later", match="@example."))
    env = env | {"NEWSLETTER_RETRY_IN_RUN_MAX_WAIT": "0"}  # no retry inside the run
    run = cli(env, "run", "--date", THURSDAY)
    assert run.exit_code == 3, run.output
    [(subject, text)] = alert_texts(relay)
    assert "no digest was sent" not in subject
    assert "deferred for a retry" in subject
    relay.script.rules.clear()
    waiting = cli(env, "send", "--retry")
    assert waiting.exit_code == 3  # their retry time has not come
    assert waiting.stdout.startswith("nothing due yet: 3 messages wait for a retry time")
    assert copies(relay)["reader0@example.org"] == 0
    steps = advice(text.split("Next step:", 1)[1].split("\n\n", 1)[0])
    assert ["send", "--retry", "--now"] in steps
    now = cli(env, "send", "--retry", "--now")
    assert now.exit_code == 0, now.output
    assert now.stdout.splitlines()[0] == "3 deferred messages due now"
    # The edition by its date, as every other line names it (before: "edition #1", its id).
    assert now.stdout.splitlines()[1].startswith("edition 2026-11-26: finished: sent 3 now in ")
    assert {r: copies(relay)[r] for r in READERS} == dict.fromkeys(READERS, 1)


def test_retry_now_counts_deferred_rows_whose_time_has_already_come(
    env: dict[str, str], relay: FaultServer, database_url: str
) -> None:
    """Before: `send --retry --now` said "0 deferred messages due now", then sent them
    (their retry time had already come, so none was moved forward)."""
    relay.script.rules.append(Rule("rcpt", "451 4.7.1 greylisted, try later", match="@example."))
    env = env | {"NEWSLETTER_RETRY_IN_RUN_MAX_WAIT": "0"}
    assert cli(env, "run", "--date", THURSDAY).exit_code == 3
    relay.script.rules.clear()
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    store = Store.open(database_url, now=past)
    with store.begin() as conn:
        moved = conn.execute(
            update(ledger).where(ledger.c.state == "deferred").values(next_attempt_at=past)
        ).rowcount
    store.close()
    assert moved == 3
    now = cli(env, "send", "--retry", "--now")
    assert now.exit_code == 0, now.output
    assert now.stdout.splitlines()[0] == "3 deferred messages due now"
    assert {r: copies(relay)[r] for r in READERS} == dict.fromkeys(READERS, 1)


def test_unknown_rows_are_resent_only_with_the_flag(
    env: dict[str, str], relay: FaultServer
) -> None:
    relay.script.rules.append(Rule("body", "drop", match="reader2@"))
    run = cli(env, "run", "--date", THURSDAY)
    snapshot = json.loads(cli(env, "status", "--json").stdout)
    states = {m["email"]: m["state"] for m in snapshot["failures"]["messages"]}
    assert states == {"reader2@example.org": "unknown"}, run.output
    line = next(p for p in snapshot["problems"] if "unknown" in p)
    [step] = advice(line)
    assert step == ["send", "--resend-failed", "--date", THURSDAY, "--include-unknown"]
    relay.script.rules.clear()
    before = copies(relay)["reader2@example.org"]
    plain = cli(env, "send", "--resend-failed", "--date", THURSDAY)
    assert plain.stdout.splitlines()[0] == "0 failed messages back to pending"
    assert copies(relay)["reader2@example.org"] == before
    flagged = cli(env, *step)
    assert flagged.exit_code == 0, flagged.output
    assert flagged.stdout.splitlines()[0] == "1 failed or unknown message back to pending"
    assert copies(relay)["reader2@example.org"] == before + 1
    assert copies(relay)["reader0@example.org"] == 1


def test_resend_failed_for_one_address(env: dict[str, str], relay: FaultServer) -> None:
    for reader in ("reader1@", "reader2@"):
        relay.script.rules.append(Rule("body", "554 5.6.0 content rejected", match=reader))
    assert cli(env, "run", "--date", THURSDAY).exit_code == 4
    relay.script.rules.clear()
    one = cli(env, "send", "--resend-failed", "--email", "reader2@example.org")
    assert one.exit_code == 4, one.output  # reader1's message is still failed
    assert (copies(relay)["reader1@example.org"], copies(relay)["reader2@example.org"]) == (0, 1)
    unknown = cli(env, "send", "--resend-failed", "--email", "typo@example.org")
    assert (unknown.exit_code, unknown.stderr) == (
        2,
        "error: --email: typo@example.org is not a subscriber\n",
    )
    assert cli(env, "send", "--email", "reader1@example.org").exit_code == 2


@dataclass
class Summary:
    """The fields of a run report that ``alerts.decide`` reads."""

    date: dt.date
    outcome: str = "ok"
    reason: str = ""
    stages: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    stopped: str = ""


def every_alert(date: dt.date) -> list[Alert]:
    """One alert of each kind ``alerts`` can send."""
    settings = Settings(_env_file=None, sources="sample")
    reports = [
        Summary(date, "failed", "every source failed"),
        Summary(date, "failed", "3 failed", counts={"failed": 3}),
        Summary(date, "failed", "sending stopped: x", counts={"deferred": 3}, stopped="x"),
        Summary(date, "partial", "sending stopped: x", counts={"sent": 1}, stopped="x"),
        Summary(date, "partial", "without hf", counts={"sent": 3}, missing=("hf_daily: 503",)),
        Summary(date, "nothing", "the sources returned no papers"),
        Summary(date, "incomplete", "3 waiting", counts={"deferred": 3}),
        Summary(date, "ok", "", counts={"pending": 3}),
        Summary(date, "partial", "2 failed", counts={"sent": 1, "failed": 2}),
    ]
    found = [decide(report, settings) for report in reports]
    alerts = [a for a in found if a is not None] + [alert_for_error(RuntimeError("x"), date)]
    kinds = {a.kind for a in alerts}
    assert kinds == {"failed", "stopped", "missing", "nothing", "deferred", "nothing-sent"} | {
        "failures",
        "error",
    }
    return alerts


def test_every_command_an_alert_or_status_advises_runs(
    env: dict[str, str], relay: FaultServer
) -> None:
    assert cli(env, "subscribers", "add", "reader3@example.org").exit_code == 0  # gets it
    relay.script.rules.append(Rule("rcpt", "550 5.1.1 mailbox unavailable", match="reader0@"))
    relay.script.rules.append(Rule("body", "554 5.6.0 content rejected", match="reader1@"))
    relay.script.rules.append(Rule("body", "drop", match="reader2@"))
    assert cli(env, "run", "--date", THURSDAY).exit_code == 4
    relay.script.rules.clear()
    snapshot = json.loads(cli(env, "status", "--json").stdout)
    assert [r["email"] for r in snapshot["suppressed"]] == ["reader0@example.org"]
    texts = [p for p in snapshot["problems"]]
    for alert in every_alert(dt.date.fromisoformat(THURSDAY)):
        texts += [alert.next_step, alert.text]
    # The list is fixed first (a reactivated reader's failed message can then be resent),
    # then the sends, in a stable order.
    commands = sorted(
        {tuple(step) for text in texts for step in advice(text)},
        key=lambda step: (step[0] != "subscribers", step),
    )
    assert ("subscribers", "reactivate", "reader0@example.org") in commands
    assert ("send", "--resend-failed", "--date", THURSDAY) in commands
    assert ("send", "--retry", "--now") in commands
    assert ("run", "--date", THURSDAY) in commands
    for command in commands:
        result = cli(env, *command)
        # doctor may find a check to fix here (exit 1); nothing may be a usage error.
        allowed = (0, 1) if command == ("doctor",) else (0, 3, 4)
        assert result.exit_code in allowed, (command, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Usage:" not in result.output
    after = json.loads(cli(env, "status", "--json").stdout)
    assert after["editions"][0]["counts"]["sent"] == 4  # the advice, followed, sent them all
    assert after["subscribers"]["active"] == 4 and after["suppressed"] == []
    assert copies(relay)["reader0@example.org"] == 1  # the reactivated reader got theirs
    assert cli(env, "run", "--date", THURSDAY).exit_code == 0


@pytest.mark.parametrize(
    "refusal", ["550 5.7.1 Relaying denied", "452 4.2.2 Mailbox full, try later"]
)
def test_status_follows_the_ledger_after_the_advised_send(
    env: dict[str, str], relay: FaultServer, refusal: str
) -> None:
    """Before: after `send --retry --now` sent every message, `status --check` still
    exited 2 with "last run (D) failed: ..." until another `run`."""
    relay.script.rules.append(Rule("rcpt", refusal, match="@example.org"))
    env = env | {"NEWSLETTER_RETRY_IN_RUN_MAX_WAIT": "0"}
    run = cli(env, "run", "--date", THURSDAY)
    assert run.exit_code in (1, 3), run.output
    assert cli(env, "status", "--check").exit_code == 2
    relay.script.rules.clear()
    fixed = cli(env, "send", "--retry", "--now")
    assert fixed.exit_code == 0, fixed.output
    snapshot = json.loads(cli(env, "status", "--json").stdout)
    [last] = snapshot["runs"]
    assert last["outcome"] in ("failed", "incomplete") and last["settled"] is True
    assert not [p for p in snapshot["problems"] if p.startswith("last run")], snapshot["problems"]
    checked = cli(env, "status", "--check")
    assert checked.exit_code == 0, checked.stdout
    assert "(since then: every message sent)" in checked.stdout


def test_retry_before_the_retry_time_says_how_many_wait_and_exits_3(
    env: dict[str, str], relay: FaultServer
) -> None:
    """Before: "nothing to send", exit 0, while three messages waited."""
    relay.script.rules.append(Rule("rcpt", "452 4.2.2 Mailbox full, try later", match="@ex"))
    env = env | {"NEWSLETTER_RETRY_IN_RUN_MAX_WAIT": "0", "NEWSLETTER_TIMEZONE": "Europe/Paris"}
    assert cli(env, "run", "--date", THURSDAY).exit_code == 3
    relay.script.rules.clear()
    waiting = cli(env, "send", "--retry")
    assert waiting.exit_code == 3, waiting.output
    assert re.fullmatch(
        r"nothing due yet: 3 messages wait for a retry time \(the first \d{4}-\d\d-\d\d"
        r" \d\d:\d\d CET\); `newsletter send --retry --now` sends them now\n",
        waiting.stdout,
    ), waiting.stdout
    assert copies(relay)["reader0@example.org"] == 0
    [step] = advice(waiting.stdout)
    assert cli(env, *step).exit_code == 0
    assert {r: copies(relay)[r] for r in READERS} == dict.fromkeys(READERS, 1)


def test_send_exits_like_run_while_the_edition_holds_failed_messages(
    env: dict[str, str], relay: FaultServer
) -> None:
    """Before: `send` printed "finished ... (1 sent, 2 failed)" and exited 0."""
    for reader in ("reader1@", "reader2@"):
        relay.script.rules.append(Rule("rcpt", "550 5.1.1 no such user", match=reader))
    assert cli(env, "run", "--date", THURSDAY).exit_code == 4
    for args in (["send"], ["send", "--date", THURSDAY]):
        again = cli(env, *args)
        assert again.exit_code == 4, (args, again.output)
        assert "partly failed: 2 messages failed permanently" in again.stdout
    # Both failed readers were suppressed: the resend names them and the fix.
    resent = cli(env, "send", "--resend-failed", "--date", THURSDAY)
    first = resent.stdout.splitlines()[0]
    assert first == (
        "0 failed messages back to pending (2 readers left out, bounced, unsubscribed or not"
        " confirmed: reader1@example.org, reader2@example.org; once a mailbox works again,"
        " `newsletter subscribers reactivate reader1@example.org` and run this again)"
    )
    [fix] = advice(first)
    relay.script.rules.clear()
    assert cli(env, *fix).exit_code == 0
    after = cli(env, "send", "--resend-failed", "--date", THURSDAY)
    assert after.stdout.splitlines()[0].startswith("1 failed message back to pending (1 reader")
    assert after.exit_code == 4  # reader2 is still bounced: the edition holds a failure
    assert copies(relay)["reader1@example.org"] == 1


def test_resend_failed_for_an_address_that_is_no_subscriber_is_a_usage_error(
    env: dict[str, str],
) -> None:
    result = cli(env, "send", "--resend-failed", "--email", "nobody@example.net")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --email: nobody@example.net is not a subscriber\n",
    )


def test_a_from_too_long_for_reply_addresses_stops_before_anything_is_done(
    env: dict[str, str], relay: FaultServer
) -> None:
    """Before: `run` recorded a failed run and emailed an alert, then exited 2."""
    env = env | {"NEWSLETTER_FROM": "Daily Papers <averyveryverylonglocalpart@example.org>"}
    run = cli(env, "run", "--date", THURSDAY)
    assert run.exit_code == 2, run.output
    [line] = run.stderr.splitlines()
    assert line.startswith("error: setting NEWSLETTER_FROM: the local part of"), line
    assert "RFC 5321" in line
    assert relay.script.accepted == []  # no alert, no digest
    good = {k: v for k, v in env.items() if k != "NEWSLETTER_FROM"}
    assert json.loads(cli(good, "status", "--json").stdout)["runs"] == []
    doctor = cli(env, "doctor")
    assert doctor.exit_code == 1
    assert "NEWSLETTER_FROM: the local part of" in doctor.stdout
