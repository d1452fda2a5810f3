"""A dry run that fails alerts nobody and records nothing (issue 11: a dry run changes
nothing): no ALERT line, no alert email, no row in ``alerts_sent`` that would keep the real
run's alert for the same edition from going out."""

from __future__ import annotations

import hashlib
from pathlib import Path

from click.testing import CliRunner

from newsletter.cli import main
from tests.support.smtp import SmtpSink


def test_a_failing_dry_run_alerts_nobody_and_writes_nothing(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    database = tmp_path / "db" / "newsletter.db"
    env = {
        "NEWSLETTER_DATABASE_URL": f"sqlite:///{database}",
        "NEWSLETTER_SOURCES": "sample",
        "NEWSLETTER_SECRET_KEY": "dry-run-alerts-key-0123456789",
        "NEWSLETTER_DELIVERY": "smtp",
        "NEWSLETTER_SMTP_HOST": smtp_sink.host,
        "NEWSLETTER_SMTP_PORT": str(smtp_sink.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_ALERT_EMAIL": "ops@example.org",
        "NEWSLETTER_ARCHIVE_DIR": str(tmp_path / "archive"),
    }
    runner = CliRunner()
    added = runner.invoke(
        main, ["--env-file", "/dev/null", "subscribers", "add", "a@example.org"], env=env
    )
    assert added.exit_code == 0, added.output
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")

    args = ["run", "--dry-run", "--date", "2026-11-26", "--out", str(blocker / "emails")]
    result = runner.invoke(main, ["--env-file", "/dev/null", *args], env=env)

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("error: ")
    assert "ALERT" not in result.stderr
    assert smtp_sink.messages == []
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
