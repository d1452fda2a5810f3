"""Delivery status notifications (RFC 3464): the parser. Pure.

``parse`` reads each per-recipient block of a ``multipart/report; report-type=
delivery-status`` message into a ``Bounce``; how badly it bounced is
``newsletter.deliver.classify.report_bounce``'s rule (the one module for hard and soft),
and ``newsletter.inbox.bounce_score`` scores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

from newsletter.deliver.classify import BounceKind, report_bounce


@dataclass(frozen=True, slots=True)
class Bounce:
    """One per-recipient block of a DSN (RFC 3464 §2.3): ``Final-Recipient``, ``Action``,
    ``Status`` (RFC 3463) and ``Diagnostic-Code`` text."""

    recipient: str
    action: str
    status: str
    diagnostic: str = ""

    @property
    def kind(self) -> BounceKind | None:
        """hard, soft or None (not a failure) by ``classify.report_bounce``."""
        return report_bounce(self.action, self.status)


def recipients(message: Message) -> list[str]:
    """The addresses a message was delivered to (where plus-address tokens are)."""
    headers = [
        str(v)
        for name in ("Delivered-To", "X-Original-To", "To", "Cc")
        for v in message.get_all(name, [])
    ]
    return [addr for _, addr in getaddresses(headers) if addr]


def is_dsn(message: Message) -> bool:
    """Whether ``message`` is a DSN: ``multipart/report; report-type=delivery-status``
    (RFC 3462/6522)."""
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).lower() == "delivery-status"
    )


def _address(value: str) -> str:
    """``rfc822; user@example.org`` -> ``user@example.org``."""
    _, _, addr = value.partition(";")
    return parseaddr((addr or value).strip())[1].strip().strip("<>")


def parse(message: EmailMessage) -> list[Bounce]:
    """The per-recipient fields of a DSN; ``[]`` for anything that is not one."""
    if not is_dsn(message):
        return []
    found: list[Bounce] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for group in _field_groups(part):
            recipient = _address(
                group.get("final-recipient", "") or group.get("original-recipient", "")
            )
            if not recipient or "@" not in recipient:
                continue
            found.append(
                Bounce(
                    recipient=recipient,
                    action=group.get("action", "").strip().lower(),
                    status=group.get("status", "").strip().split()[0]
                    if group.get("status", "").strip()
                    else "",
                    diagnostic=" ".join(group.get("diagnostic-code", "").split())[:300],
                )
            )
    return found


def quoted_message_ids(message: Message) -> set[str]:
    """Message-IDs of the returned message (``message/rfc822`` or ``text/rfc822-headers``)."""
    found: set[str] = set()
    for part in message.walk():
        kind = part.get_content_type()
        headers: list[Message] = []
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            headers = (
                [m for m in payload if isinstance(m, Message)] if isinstance(payload, list) else []
            )
        elif kind in ("text/rfc822-headers", "message/global-headers"):
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
            headers = [HeaderParser().parsestr(text.lstrip())]
        for quoted in headers:
            for value in quoted.get_all("Message-ID", []):
                found.update(re.findall(r"<[^<>\s]{1,298}>", str(value)))
    return found


def _field_groups(part: Message) -> list[dict[str, str]]:
    """The per-message group, then one group per recipient (blank-line separated)."""
    payload = part.get_payload()
    texts: list[str] = []
    if isinstance(payload, list):
        texts = [m.as_string() for m in payload if isinstance(m, Message)]
    else:
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
        texts = re.split(r"\r?\n\s*\r?\n", text)
    groups: list[dict[str, str]] = []
    for text in texts:
        group: dict[str, str] = {}
        last = ""
        for line in text.splitlines():
            if line[:1] in (" ", "\t") and last:
                group[last] += " " + line.strip()
                continue
            name, colon, value = line.partition(":")
            if colon:
                last = name.strip().lower()
                group[last] = value.strip()
        if group:
            groups.append(group)
    return [g for g in groups if "final-recipient" in g or "original-recipient" in g]
