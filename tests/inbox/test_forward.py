"""``inbox.forward.attach_message``: a notice with the reader's message attached whole."""

from __future__ import annotations

import datetime as dt
import email
import re
from email import policy

from newsletter.config import Settings
from newsletter.inbox.forward import attach_message, forward

ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")

NOTICE = (
    b"From: papers@example.org\r\nTo: ops@example.org\r\nSubject: Reply from a reader\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n'
    b"\r\nA reply that is not a command.\r\n"
)


def test_the_attached_message_keeps_its_bytes_and_the_notice_its_headers() -> None:
    # LF line ends (as some stores keep them) become CRLF; nothing else changes
    reader = b"From: ada@example.org\nSubject: =?utf-8?q?caf=C3=A9?=\n\nSee --==nl-fwd- here\n"
    data = attach_message(NOTICE, reader)
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert parsed["Subject"] == "Reply from a reader" and parsed["To"] == "ops@example.org"
    assert parsed.get_content_type() == "multipart/mixed"
    note, attached = parsed.iter_parts()
    assert note.get_content().rstrip() == "A reply that is not a command."
    assert attached.get_content_type() == "message/rfc822"
    assert attached["Content-Transfer-Encoding"] == "7bit"
    assert reader.replace(b"\n", b"\r\n").rstrip() in data
    (original,) = attached.get_payload()
    assert original["Subject"] == "café"
    assert data.count(b"Content-Type: text/plain") == 1  # moved, not copied


def test_eight_bit_text_is_sent_as_8bit_never_re_encoded() -> None:
    reader = "From: ada@example.org\r\n\r\nMerci, très bien.\r\n".encode()
    data = attach_message(NOTICE, reader)
    assert b"Content-Transfer-Encoding: 8bit" in data
    assert "très".encode() in data


def test_the_forwards_own_headers_keep_rfc_2047_limits_for_a_long_non_ascii_subject() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        base_url="https://papers.example.org",
        secret_key="forward-key",
        from_address="Tägliche Papiere <papers@example.org>",
    )
    subject = "Re: Maschinelles Lernen für Übersetzung — 機械学習と自然言語処理の最新研究"
    raw = (
        "From: =?utf-8?q?J=C3=BCrgen?= <j@example.net>\r\n"
        f"Subject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDanke!\r\n"
    ).encode()
    message = email.message_from_bytes(raw, policy=policy.default)
    sent = forward(
        settings,
        raw,
        message,  # type: ignore[arg-type]
        sender="j@example.net",
        operator="ops@example.org",
        subscriber_id=0,
        now=dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
    )
    head = sent.data.partition(b"\r\n\r\n")[0]
    words = ENCODED_WORD.findall(head)
    assert words and max(len(w) for w in words) <= 75
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(sent.data, policy=policy.default)
    assert parsed["Subject"] == f"Reply from a reader: {subject}"
