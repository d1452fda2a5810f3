"""Test messages: replies as mail clients write them, and DSNs laid out as Postfix sends them."""

from __future__ import annotations

import uuid

# The secret the inbox tests' settings sign with (tokens in replies and bounce addresses).
KEY = "inbox-test-secret-0123456789"


def reply(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    message_id: str | None = None,
    extra: str = "",
) -> bytes:
    mid = message_id or f"<{uuid.uuid4().hex}@client.example.net>"
    text = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
        f"Date: Thu, 26 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n{extra}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body.replace("\n", "\r\n")
    )
    return text.encode()


def dsn(
    recipient: str,
    status: str,
    action: str = "failed",
    diagnostic: str = "smtp; 550 5.1.1 <{r}>: Recipient address rejected: User unknown",
    to: str = "papers@example.org",
    *,
    quoted_id: str | None = None,
    more: tuple[str, ...] = (),
    original: str | None = None,
) -> bytes:
    """A Postfix DSN for ``recipient`` (and ``more``), quoting the headers of the message
    it returns, with ``Message-ID: quoted_id`` among them when given; ``original``: the
    Original-Recipient of the first block (default: the recipient itself)."""
    mid = f"<{uuid.uuid4().hex}@mx.example.net>"
    boundary = "B" + uuid.uuid4().hex
    groups = "".join(
        f"""Final-Recipient: rfc822; {r}\r
Original-Recipient: rfc822;{original if original and r == recipient else r}\r
Action: {action}\r
Status: {status}\r
Remote-MTA: dns; mail.example.com\r
Diagnostic-Code: {diagnostic.format(r=r)}\r
\r
"""
        for r in (recipient, *more)
    )
    quoted = f"Message-ID: {quoted_id}\r\n" if quoted_id else ""
    text = f"""From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r
Subject: Undelivered Mail Returned to Sender\r
To: {to}\r
Auto-Submitted: auto-replied\r
Message-ID: {mid}\r
Date: Thu, 26 Nov 2026 07:00:00 +0000\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r
\r
--{boundary}\r
Content-Description: Notification\r
Content-Type: text/plain; charset=us-ascii\r
\r
This is the mail system at host mx.example.net.\r
I'm sorry to have to inform you that your message could not be delivered.\r
\r
--{boundary}\r
Content-Description: Delivery report\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.example.net\r
X-Postfix-Queue-ID: 4F2A81234\r
Arrival-Date: Thu, 26 Nov 2026 06:59:58 +0000 (UTC)\r
\r
{groups}--{boundary}\r
Content-Description: Undelivered Message Headers\r
Content-Type: text/rfc822-headers\r
\r
From: Daily Papers <papers@example.org>\r
To: {recipient}\r
Subject: Daily Papers: 26 November\r
{quoted}\r
--{boundary}--\r
"""
    return text.encode()


def arf(quoted_id: str, recipient: str = "redacted@example.net") -> bytes:
    """An RFC 5965 abuse report from a feedback loop, returning the digest with its
    Message-ID (the recipient is often redacted)."""
    boundary = "A" + uuid.uuid4().hex
    return f"""From: <fbl@isp.example.net>\r
To: papers@example.org\r
Subject: FW: Daily Papers: 26 November\r
Message-ID: <{uuid.uuid4().hex}@isp.example.net>\r
Date: Thu, 26 Nov 2026 07:30:00 +0000\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"\r
\r
--{boundary}\r
Content-Type: text/plain; charset="US-ASCII"\r
\r
This is an email abuse report for an email message received from IP 192.0.2.1.\r
--{boundary}\r
Content-Type: message/feedback-report\r
\r
Feedback-Type: abuse\r
User-Agent: SomeGenerator/1.0\r
Version: 1\r
Original-Mail-From: <papers@example.org>\r
Original-Rcpt-To: <{recipient}>\r
Arrival-Date: Thu, 26 Nov 2026 06:00:05 +0000\r
Source-IP: 192.0.2.1\r
\r
--{boundary}\r
Content-Type: text/rfc822-headers\r
\r
From: Daily Papers <papers@example.org>\r
To: {recipient}\r
Subject: Daily Papers: 26 November\r
Message-ID: {quoted_id}\r
\r
--{boundary}--\r
""".encode()


def out_of_office(to: str, sender: str = "ada@example.org") -> bytes:
    """An Exchange out-of-office reply: null Return-Path, X-Auto-Response-Suppress: All,
    "Automatic reply:" (no Auto-Submitted header)."""
    return reply(
        sender=sender,
        to=to,
        subject="Automatic reply: Daily Papers: 26 November",
        body="I am out of the office until Monday with limited access to email.",
        extra="Return-Path: <>\r\nX-Auto-Response-Suppress: All\r\n",
    )
