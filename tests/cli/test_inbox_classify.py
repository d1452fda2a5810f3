"""``newsletter inbox classify FILE.eml...``: one JSON object per file; unreadable files are a
one-line error each, the others are still printed, and the exit status is 2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from newsletter.cli import main
from tests.inbox import mail


def test_each_file_prints_one_json_object(tmp_path: Path) -> None:
    bounce = tmp_path / "bounce.eml"
    bounce.write_bytes(mail.dsn("gone@example.net", "5.1.1"))
    note = tmp_path / "note.eml"
    note.write_bytes(
        mail.reply(
            sender="r@example.net", to="papers@example.org", subject="Re: hi", body="Thanks!"
        )
    )
    result = CliRunner().invoke(main, ["inbox", "classify", str(bounce), str(note)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == [
        {
            "file": str(bounce),
            "kind": "hard",
            "recipients": ["gone@example.net"],
            "status": "5.1.1",
            "reason": "userunknown",
        },
        {"file": str(note), "kind": "reply", "recipients": ["r@example.net"]},
    ]


def test_an_unreadable_file_is_one_line_and_exit_2_and_the_others_still_print(
    tmp_path: Path,
) -> None:
    bounce = tmp_path / "bounce.eml"
    bounce.write_bytes(mail.dsn("slow@example.net", "4.4.7", action="delayed"))
    missing = tmp_path / "missing.eml"
    result = CliRunner().invoke(
        main, ["inbox", "classify", str(missing), str(tmp_path), str(bounce)]
    )
    assert result.exit_code == 2
    assert [json.loads(line)["kind"] for line in result.stdout.splitlines()] == ["warning"]
    assert result.stderr.splitlines() == [
        f"error: {missing}: No such file or directory",
        f"error: {tmp_path}: Is a directory",
    ]


def test_plain_inbox_still_reads_the_mailbox() -> None:
    result = CliRunner().invoke(main, ["--env-file", "/dev/null", "inbox"])
    assert result.exit_code == 2  # a settings error
    assert "NEWSLETTER_IMAP_HOST" in result.stderr


def test_a_message_that_breaks_a_flufl_bounce_detector_prints_no_traceback(tmp_path: Path) -> None:
    odd = tmp_path / "odd.eml"
    odd.write_bytes(b"From: \r\nSubject: Returned mail\r\n\r\nUser unknown\r\n")  # Yale: IndexError
    result = CliRunner().invoke(main, ["inbox", "classify", str(odd)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["file"] == str(odd)
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr
