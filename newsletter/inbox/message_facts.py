"""What an incoming message is about, read from its headers and parts: its identity for
"seen once", whether it may be answered, where it was delivered, its text body and what
``inbox_events.detail`` keeps of a delivery report. Pure: no store, no network."""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Any

from newsletter.inbox.classify import Classification, headers
from newsletter.inbox.classify.notice import from_mail_system


def message_key(message: EmailMessage, raw: bytes) -> str:
    """A message's identity for "seen once": its Message-ID, or a SHA-256 of its bytes."""
    message_id = " ".join(headers.first(message, "Message-ID").split())
    if re.fullmatch(r"<[^<>\s]{1,380}>", message_id):
        return message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def is_list_or_own(message: EmailMessage, own_address: str) -> bool:
    """Mailing-list mail, our own mail and mail from a mail system (a null or ``<@>`` From,
    MAILER-DAEMON, postmaster: ``notice.from_mail_system``): never answered nor forwarded
    (no mail loops), whatever else it looks like."""
    sender = parseaddr(headers.first(message, "From"))[1].lower()
    return (
        headers.present(message, "List-Id")
        or sender == own_address.lower()
        or from_mail_system(message)
    )


def delivered_to(message: EmailMessage) -> list[str]:
    """The addresses a message was delivered to (where plus-address tokens are)."""
    values = [
        str(v)
        for name in ("Delivered-To", "X-Original-To", "To", "Cc")
        for v in headers.values(message, name)
    ]
    return [addr for _, addr in getaddresses(values) if addr]


def report_detail(found: Classification) -> dict[str, Any]:
    """What ``inbox_events.detail`` keeps of a report: kind, status, reason, recipients and
    each recipient's own result."""
    return {
        "kind": found.kind,
        "status": found.status,
        "reason": found.reason,
        "recipients": list(found.recipients),
        "per_recipient": [
            [r.recipient, r.action, r.status, r.reason, r.kind] for r in found.per_recipient
        ],
    }


def thread_id(message: EmailMessage) -> str | None:
    """The Message-ID to thread an answer to, when it is one well-formed id."""
    value = " ".join(headers.first(message, "Message-ID").split())
    return value if re.fullmatch(r"<[^<>\s]{1,250}>", value) else None


def plain_body(message: EmailMessage) -> str:
    """The text/plain body of ``message`` (empty when it has none)."""
    part = message.get_body(("plain",))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""
