"""Delivery status notifications (RFC 3464): who bounced, how badly. Pure.

Hard bounce: ``Action: failed`` with a 5.x.x status, except 5.7.x (policy and spam
rejections, which say more about the message than the address). Everything else that
failed or was delayed is soft. Scores follow Mailman: soft bounces add up over time, a
hard bounce reaches the threshold at once (with the default scores).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from typing import Literal

Kind = Literal["hard", "soft"]

_STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")


@dataclass(frozen=True, slots=True)
class Bounce:
    recipient: str
    action: str
    status: str
    diagnostic: str = ""

    @property
    def kind(self) -> Kind | None:
        return classify(self.action, self.status)


def classify(action: str, status: str) -> Kind | None:
    action = action.strip().lower()
    found = _STATUS.match(status.strip())
    if action not in ("failed", "delayed") or found is None:
        return None
    if action == "failed" and found.group(1) == "5" and found.group(2) != "7":
        return "hard"
    if found.group(1) == "2":
        return None
    return "soft"


def recipients(message: Message) -> list[str]:
    """The addresses a message was delivered to (where plus-address tokens are)."""
    headers = [
        str(v)
        for name in ("Delivered-To", "X-Original-To", "To", "Cc")
        for v in message.get_all(name, [])
    ]
    return [addr for _, addr in getaddresses(headers) if addr]


def is_dsn(message: Message) -> bool:
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
