"""``newsletter inbox classify FILE.eml...``: one JSON object per file; unreadable files are a
one-line error each, the others are still printed, and the exit status is 2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from newsletter.cli import main
from tests.inbox import mail
from tests.inbox.test_excerpt import nested


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
        {
            "file": str(note),
            "kind": "reply",
            "recipients": ["r@example.net"],
            "status": None,
            "reason": None,
        },
    ]


KINDS = {
    "hard": mail.dsn("gone@example.net", "5.1.1"),
    "soft": mail.dsn("full@example.net", "5.2.2", diagnostic="smtp; 552 5.2.2 Mailbox full"),
    "warning": mail.dsn("slow@example.net", "4.4.7", action="delayed"),
    "complaint": mail.arf("<d1@papers.example.org>"),
    "auto-reply": mail.out_of_office("papers@example.org"),
    "reply": mail.reply(
        sender="r@example.net", to="papers@example.org", subject="Re: hi", body="Thanks!"
    ),
    "other": b"Subject: hello\r\n\r\nno sender at all\r\n",
}


def test_every_kind_prints_the_same_keys_and_null_for_what_is_unknown(tmp_path: Path) -> None:
    files = []
    for kind, raw in KINDS.items():
        files.append(tmp_path / f"{kind}.eml")
        files[-1].write_bytes(raw)
    result = CliRunner().invoke(main, ["inbox", "classify", *map(str, files)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["kind"] for row in rows] == list(KINDS)
    for row in rows:
        assert list(row) == ["file", "kind", "recipients", "status", "reason"]
        assert row["status"] is None or (isinstance(row["status"], str) and row["status"])
        assert row["reason"] is None or (isinstance(row["reason"], str) and row["reason"])
    by_kind = {row["kind"]: row for row in rows}
    assert (by_kind["soft"]["status"], by_kind["soft"]["reason"]) == ("5.2.2", "mailboxfull")
    assert by_kind["complaint"]["reason"] == "abuse"
    for kind in ("auto-reply", "reply", "other"):
        assert by_kind[kind]["status"] is None and by_kind[kind]["reason"] is None


def test_a_utf8_final_recipient_with_a_bidi_override_is_decoded_and_printed_escaped(
    tmp_path: Path,
) -> None:
    """RFC 6533: ``utf-8;`` addresses carry non-ASCII as ``\\x{HEX}``. The address comes back
    whole (U+202E included), and the JSON line carries the override as ``\\u202e``, never raw."""
    raw = mail.dsn("placeholder@example.net", "5.1.1").replace(
        b"Final-Recipient: rfc822; placeholder@example.net",
        b"Final-Recipient: utf-8; j\\x{F6}rg\\x{202E}gro@example.net",
    )
    path = tmp_path / "utf8.eml"
    path.write_bytes(raw)
    result = CliRunner().invoke(main, ["inbox", "classify", str(path)])
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert "\u202e" not in line and "\\u202e" in line
    assert "j\u00f6rg" in line  # letters stay readable
    row = json.loads(line)
    assert row["recipients"][0] == "j\u00f6rg\u202egro@example.net"


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


def test_a_thousand_nested_multiparts_print_one_line_and_the_next_file_too(
    tmp_path: Path,
) -> None:
    deep = tmp_path / "deep.eml"
    deep.write_bytes(nested(1000, sender="x@example.net"))
    bounce = tmp_path / "bounce.eml"
    bounce.write_bytes(mail.dsn("slow@example.net", "4.4.7", action="delayed"))
    result = CliRunner().invoke(main, ["inbox", "classify", str(deep), str(bounce)])
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["file"], r["kind"]) for r in rows] == [
        (str(deep), "reply"),
        (str(bounce), "warning"),
    ]
    assert "Traceback" not in result.stderr
