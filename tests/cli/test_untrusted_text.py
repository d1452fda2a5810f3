"""A paper whose text UTF-8 cannot encode still goes out, end to end (``newsletter run``)."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
from email.message import EmailMessage
from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from newsletter.cli import main


def test_a_title_with_a_lone_surrogate_does_not_stop_the_digest(tmp_path: Path) -> None:
    day = json.loads(resources.files("newsletter").joinpath("data", "sample_day.json").read_text())
    day[0]["paper"]["title"] = "Broken \ud800 surrogate"
    sample = tmp_path / "day.json"
    sample.write_text(json.dumps(day))  # "\ud800" written as JSON escapes it, as an API would
    env = {
        "NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'newsletter.db'}",
        "NEWSLETTER_SOURCES": "sample",
        "NEWSLETTER_SAMPLE_PATH": str(sample),
        "NEWSLETTER_OUTBOX_DIR": str(tmp_path / "outbox"),
        "NEWSLETTER_ARCHIVE_DIR": str(tmp_path / "archive"),
        "NEWSLETTER_SECRET_KEY": "untrusted-text-key-0123456789",
    }
    runner = CliRunner()
    added = runner.invoke(
        main, ["--env-file", "/dev/null", "subscribers", "add", "a@example.org"], env=env
    )
    assert added.exit_code == 0, added.output

    result = runner.invoke(
        main, ["--env-file", "/dev/null", "run", "--date", "2026-11-26"], env=env
    )

    assert result.exit_code == 0, (result.output, result.exception)
    (stored,) = mailbox.Maildir(tmp_path / "outbox", create=False)
    parsed = email.message_from_bytes(stored.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    plain = parsed.get_body(("plain",))
    assert plain is not None and "Broken \ufffd surrogate" in plain.get_content()
    assert any((tmp_path / "archive").rglob("*.html"))
