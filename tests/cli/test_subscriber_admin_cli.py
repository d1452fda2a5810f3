"""The list from the CLI (issue 14, item 6): unsubscribe, pause, resume, reactivate, show,
on real SQLite and PostgreSQL. Before: none of these commands existed, `remove --help`
pointed at a missing one, and a bounced reader could not be made active again."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from newsletter.cli import main
from newsletter.models import Paper
from newsletter.store import editions, feedback, ledger, schema, subscribers
from newsletter.store import inbox as events
from newsletter.store.db import Store

# Earlier than the wall clock the CLI reads, so history written here sorts before its own.
NOW = dt.datetime(2025, 6, 1, 7, 0, tzinfo=dt.UTC)
DAY = dt.date(2025, 6, 1)


@pytest.fixture
def env_file(database_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "test.env"
    path.write_text(f"NEWSLETTER_DATABASE_URL={database_url}\n")
    return path


def run(env_file: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--env-file", str(env_file), *args])
    return result.exit_code, result.stdout, result.stderr


def listed(env_file: Path) -> dict[str, tuple[str, str | None]]:
    code, out, _ = run(env_file, "subscribers", "list", "--json")
    assert code == 0
    return {s["email"]: (s["status"], s["paused_until"]) for s in json.loads(out)}


def test_unsubscribe_pause_resume_reactivate(env_file: Path) -> None:
    assert run(env_file, "subscribers", "add", "ada@example.org")[0] == 0

    assert run(env_file, "subscribers", "pause", "ada@example.org", "--until", "2099-01-04") == (
        0,
        "ada@example.org: paused until 2099-01-04 (was active)\n",
        "",
    )
    assert listed(env_file) == {"ada@example.org": ("paused", "2099-01-04")}
    assert run(env_file, "subscribers", "resume", "ADA@example.org") == (
        0,
        "ada@example.org: active again (was paused)\n",
        "",
    )
    assert listed(env_file) == {"ada@example.org": ("active", None)}
    assert run(env_file, "subscribers", "resume", "ada@example.org")[1] == (
        "ada@example.org is already active; nothing changed\n"
    )

    assert run(env_file, "subscribers", "unsubscribe", "ada@example.org") == (
        0,
        "ada@example.org: unsubscribed, no more email (was active)\n",
        "",
    )
    assert listed(env_file) == {"ada@example.org": ("unsubscribed", None)}
    # An unsubscribed reader is not "resumed" or paused by mistake: exit 2, nothing changed.
    code, out, err = run(env_file, "subscribers", "resume", "ada@example.org")
    assert (code, out) == (2, "")
    assert err == (
        "error: email: cannot resume ada@example.org: the status is unsubscribed;"
        " use `newsletter subscribers reactivate` if they asked again\n"
    )
    assert run(env_file, "subscribers", "pause", "ada@example.org")[0] == 2
    assert listed(env_file) == {"ada@example.org": ("unsubscribed", None)}

    assert run(env_file, "subscribers", "reactivate", "ada@example.org") == (
        0,
        "ada@example.org: active again, bounce score 0 (was unsubscribed)\n",
        "",
    )
    assert listed(env_file) == {"ada@example.org": ("active", None)}


def test_pause_without_end_and_bad_dates(env_file: Path) -> None:
    assert run(env_file, "subscribers", "add", "bo@example.org")[0] == 0
    code, out, _ = run(env_file, "subscribers", "pause", "bo@example.org")
    assert (code, out) == (
        0,
        "bo@example.org: paused until `newsletter subscribers resume` (was active)\n",
    )
    code, _, err = run(env_file, "subscribers", "pause", "bo@example.org", "--until", "2026-13-01")
    assert code == 2
    assert err == "error: --until: expected YYYY-MM-DD, got '2026-13-01'\n"
    code, _, err = run(env_file, "subscribers", "pause", "bo@example.org", "--until", "2020-01-01")
    assert (code, err) == (2, "error: --until: 2020-01-01 is not after today\n")


def test_a_bounced_reader_can_be_reactivated(env_file: Path, database_url: str) -> None:
    assert run(env_file, "subscribers", "add", "cy@example.org")[0] == 0
    store = Store.open(database_url, now=NOW)
    with store.begin() as conn:
        cy = subscribers.require_by_email(conn, "cy@example.org")
        for _ in range(2):
            subscribers.record_bounce(
                conn, cy.id, "hard", hard_score=5, soft_score=1, threshold=5, reset_days=30, now=NOW
            )
        assert subscribers.get(conn, cy.id).status == "bounced"
        assert cy.id not in subscribers.sendable_ids(conn, DAY)

    code, out, _ = run(env_file, "subscribers", "reactivate", "cy@example.org")
    assert (code, out) == (0, "cy@example.org: active again, bounce score 0 (was bounced)\n")
    with store.begin() as conn:
        assert cy.id in subscribers.sendable_ids(conn, DAY)
        assert subscribers.bookkeeping(conn, cy.id)["bounce_score"] == 0
    store.close()
    code, out, _ = run(env_file, "subscribers", "show", "cy@example.org", "--json")
    shown = json.loads(out)
    assert [(c["from"], c["to"], c["by"]) for c in shown["history"]] == [
        ("bounced", "active", "operator"),
        ("active", "bounced", "bounces"),
    ]


def test_unknown_address_is_one_line_exit_2(env_file: Path) -> None:
    assert run(env_file, "subscribers", "add", "ada@example.org")[0] == 0  # a list, without them
    for command in ("unsubscribe", "pause", "resume", "reactivate", "show", "remove"):
        code, out, err = run(env_file, "subscribers", command, "nobody@example.org")
        assert (code, out, err) == (2, "", "error: not found: subscriber nobody@example.org\n"), (
            command
        )


def test_remove_help_names_a_command_that_exists() -> None:
    result = CliRunner().invoke(main, ["subscribers", "remove", "--help"])
    assert "`newsletter subscribers unsubscribe EMAIL`" in result.stdout
    assert CliRunner().invoke(main, ["subscribers", "unsubscribe", "--help"]).exit_code == 0


def test_show_tells_the_whole_story(env_file: Path, database_url: str) -> None:
    assert run(env_file, "subscribers", "add", "dee@example.org", "--name", "Dee\r\nX")[0] == 0
    assert run(env_file, "subscribers", "add", "eve@example.org")[0] == 0
    store = Store.open(database_url, now=NOW)
    with store.begin() as conn:
        dee = subscribers.require_by_email(conn, "dee@example.org")
        eve = subscribers.require_by_email(conn, "eve@example.org")
        paper = Paper(arxiv_id="2612.00001", title="A paper", abstract="text")
        replies = [
            ("sent", 250, "2.0.0 Ok: queued as 4F2"),
            ("failed", 550, "5.1.1 <dee@example.org>: User\r\nunknown"),
        ]
        for offset, (state, code, text) in enumerate(replies):
            edition = editions.freeze(
                conn, DAY + dt.timedelta(days=offset), [paper], sources=["sample"], now=NOW
            )
            ledger.enqueue(conn, edition.id, [dee.id, eve.id], NOW)
            # What the sender writes after a reply (tests/deliver covers how it gets there).
            conn.execute(
                update(schema.ledger)
                .where(schema.ledger.c.edition_id == edition.id)
                .where(schema.ledger.c.subscriber_id == dee.id)
                .values(
                    state=state,
                    attempts=1,
                    last_code=code,
                    last_text=text,
                    sent_at=NOW if state == "sent" else None,
                )
            )
        events.record_refusal(conn, dee.id, 550, "rcpt", "5.1.1 User unknown", NOW)
        events.record(
            conn,
            "bounce-msg-1",
            "bounce",
            subscriber_id=dee.id,
            detail={
                "kind": "hard",
                "status": "5.1.1",
                "reason": "user unknown",
                "recipients": ["dee@example.org"],
                "per_recipient": [],
            },
            now=NOW,
        )
        feedback.record(conn, dee.id, "2612.00001", 1, NOW)
    store.close()
    assert run(env_file, "subscribers", "pause", "dee@example.org", "--until", "2099-02-01")[0] == 0

    code, out, _ = run(env_file, "subscribers", "show", "dee@example.org")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "dee@example.org (Dee X)"
    assert "  status:       paused until 2099-02-01" in lines
    assert lines[lines.index("Status history:") + 1].endswith(
        "active -> paused until 2099-02-01 (by operator)"
    )
    messages = lines[lines.index("Messages (newest first):") + 1 :][:2]
    assert messages[0].startswith("  2025-06-02  failed   attempts 1; last reply: 550 5.1.1")
    assert messages[0].endswith("User unknown")
    assert messages[1].startswith("  2025-06-01  sent     attempts 1, sent 2025-06-01 07:00 UTC")
    assert messages[1].endswith("last reply: 250 2.0.0 Ok: queued as 4F2")
    bounces = lines[lines.index("Bounces:") + 1 : lines.index("Feedback:")]
    assert sorted(b.split("  ", 2)[-1] for b in bounces) == [
        "bounce: hard 5.1.1 user unknown",
        "send-refusal: 550 5.1.1 User unknown",
    ]
    assert lines[lines.index("Feedback:") + 1] == "  2025-06-01 07:00 UTC  +1 2612.00001"
    assert all("\r" not in line for line in lines)

    shown = json.loads(run(env_file, "subscribers", "show", "dee@example.org", "--json")[1])
    assert [m["last_code"] for m in shown["messages"]] == [550, 250]
    # Another reader's messages are not shown.
    eve_shown = json.loads(run(env_file, "subscribers", "show", "eve@example.org", "--json")[1])
    assert [m["state"] for m in eve_shown["messages"]] == ["pending", "pending"]
    assert eve_shown["bounces"] == eve_shown["feedback"] == eve_shown["history"] == []
