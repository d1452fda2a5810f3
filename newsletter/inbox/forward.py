"""A person's reply that is not a command, forwarded to the operator whole. No I/O.

The forward is our own short notice (``render.notices.build_notice``: every header through
the one header-safety path; the reader's subject and From appear only as one-line text in the
notice's body and, flattened, in its Subject) with the reply attached unchanged as a
``message/rfc822`` part (RFC 2046 section 5.2.1), so the operator's mail program shows it
as the reader wrote it: headers, text, HTML, attachments. The reply's own headers travel
only inside that part; none of them reaches a header of the forward.

RFC 2046 section 5.2.1 allows only 7bit, 8bit or binary encoding for ``message/rfc822``: the
reply goes as its exact bytes (line ends made CRLF), ``8bit`` when it has any byte above 127
(it reached our mailbox over SMTP, so it was sent that way), ``7bit`` otherwise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from email.message import EmailMessage

from newsletter.config import Settings
from newsletter.inbox.classify import headers
from newsletter.inbox.classify.autoreply import subject as decoded_subject
from newsletter.models import Message
from newsletter.render import notices
from newsletter.text import one_line

_LINE_END = re.compile(rb"\r?\n")
_CONTENT_FIELDS = (b"content-type", b"content-transfer-encoding")


def forward(
    settings: Settings,
    raw: bytes,
    message: EmailMessage,
    *,
    sender: str | None,
    operator: str,
    subscriber_id: int,
    now: dt.datetime,
) -> Message:
    """The forward of ``raw`` (the reply as received; ``message``: it parsed) to
    ``operator``, Reply-To the reader (``sender``) when known, so the operator answers
    directly. ``subscriber_id``: the reader's, 0 when unknown."""
    subject = one_line(decoded_subject(message), 150) or "(no subject)"
    who = one_line(headers.first(message, "From"), 200) or "(no sender)"
    date = one_line(headers.first(message, "Date"), 100)
    body = (
        f"A reply to {settings.list_name} that is not a command"
        f"{' (answer it directly: Reply-To is its sender)' if sender else ''}.\n"
        "It is attached as the reader sent it.\n\n"
        f"From: {who}\nDate: {date}\nSubject: {subject}\n"
    )
    notice = notices.build_notice(
        settings,
        to=operator,
        subject=f"Reply from a reader: {subject}",
        body=body,
        subscriber_id=subscriber_id,
        now=now,
        reply_to=sender,
    )
    data = attach_message(notice.data, raw)
    return Message(
        subscriber_id=notice.subscriber_id,
        to=notice.to,
        sender=notice.sender,
        message_id=notice.message_id,
        subject=notice.subject,
        data=data,
        text=notice.text,
    )


def attach_message(data: bytes, attached: bytes) -> bytes:
    """``data`` (one single-part message, CRLF) turned into ``multipart/mixed``: its own
    body first, then ``attached`` as a ``message/rfc822`` part. The top-level headers stay
    as they are, except Content-Type and Content-Transfer-Encoding, which move to the
    first part."""
    head, _, body = data.partition(b"\r\n\r\n")
    own, content = _split_fields(head)
    inner = _LINE_END.sub(b"\r\n", attached).rstrip(b"\r\n")
    boundary = _boundary(inner + body)
    marker = b"--" + boundary
    encoding = b"7bit" if inner.isascii() else b"8bit"
    return b"".join(
        [
            own,
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n',
            b"\r\nThis is a multipart message in MIME format.\r\n",
            marker + b"\r\n",
            content,
            b"\r\n",
            body if body.endswith(b"\r\n") else body + b"\r\n",
            b"\r\n" + marker + b"\r\n",
            b"Content-Type: message/rfc822\r\n",
            b"Content-Disposition: inline\r\n",
            b"Content-Transfer-Encoding: " + encoding + b"\r\n\r\n",
            inner,
            b"\r\n" + marker + b"--\r\n",
        ]
    )


def _split_fields(head: bytes) -> tuple[bytes, bytes]:
    """(other header fields, the content fields), each field with its folded lines, CRLF."""
    own: list[bytes] = []
    content: list[bytes] = []
    target = own
    for line in head.split(b"\r\n"):
        if line[:1] not in (b" ", b"\t"):
            name = line.partition(b":")[0].strip().lower()
            target = content if name in _CONTENT_FIELDS else own
        target.append(line + b"\r\n")
    return b"".join(own), b"".join(content)


def _boundary(text: bytes) -> bytes:
    """A boundary that occurs nowhere in ``text`` (RFC 2046 section 5.1.1)."""
    digest = hashlib.sha256(text).hexdigest()
    for length in range(24, 65, 8):
        candidate = ("==nl-fwd-" + digest[:length]).encode("ascii")
        if candidate not in text:
            return candidate
    raise ValueError("no boundary found")  # a SHA-256 prefix inside its own input: never
