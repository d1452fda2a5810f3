"""Test messages: replies as mail clients write them, and DSNs laid out as Postfix sends them."""

from __future__ import annotations

import uuid


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
) -> bytes:
    mid = f"<{uuid.uuid4().hex}@mx.example.net>"
    boundary = "B" + uuid.uuid4().hex
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
Final-Recipient: rfc822; {recipient}\r
Original-Recipient: rfc822;{recipient}\r
Action: {action}\r
Status: {status}\r
Remote-MTA: dns; mail.example.com\r
Diagnostic-Code: {diagnostic.format(r=recipient)}\r
\r
--{boundary}\r
Content-Description: Undelivered Message Headers\r
Content-Type: text/rfc822-headers\r
\r
From: Daily Papers <papers@example.org>\r
To: {recipient}\r
Subject: Daily Papers: 26 November\r
\r
--{boundary}--\r
"""
    return text.encode()
