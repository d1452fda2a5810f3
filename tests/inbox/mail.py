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
) -> bytes:
    """A Postfix DSN for ``recipient`` (and ``more``), quoting the headers of the message
    it returns, with ``Message-ID: quoted_id`` among them when given."""
    mid = f"<{uuid.uuid4().hex}@mx.example.net>"
    boundary = "B" + uuid.uuid4().hex
    groups = "".join(
        f"""Final-Recipient: rfc822; {r}\r
Original-Recipient: rfc822;{r}\r
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
