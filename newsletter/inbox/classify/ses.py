"""Amazon SES notifications delivered by email (an SNS topic's email subscription). Pure.

The body starts with one JSON object (Amazon SES developer guide, "Contents of notifications"),
bare or as the ``Message`` string of an SNS envelope (``{"Type": "Notification", ...}``):
``notificationType`` Bounce | Complaint | Delivery; a bounce has ``bounceType`` (Permanent,
Transient, Undetermined), ``bounceSubType`` and ``bouncedRecipients`` (``emailAddress``,
``status``, ``diagnosticCode``); a complaint has ``complainedRecipients`` and
``complaintFeedbackType``; a delivery has ``delivery.recipients``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from newsletter.inbox.classify.reasons import Diagnosis, diagnose, is_hard
from newsletter.inbox.classify.result import (
    Classification,
    RecipientKind,
    RecipientResult,
    rank,
    unique,
)

_UNWRAP = re.compile(r"!?\r?\n ?")
# bounceSubType -> reason, for recipients without a status or diagnostic (SES guide).
SUBTYPE_REASONS = {
    "noemail": "userunknown",
    "mailboxfull": "mailboxfull",
    "messagetoolarge": "mesgtoobig",
    "contentrejected": "contenterror",
    "attachmentrejected": "contenterror",
    "suppressed": "suppressed",
    "onaccountsuppressionlist": "suppressed",
}


@dataclass(frozen=True, slots=True)
class SesRecipient:
    """``address``; ``status`` (RFC 3463, '' when absent); ``diagnostic`` (one line)."""

    address: str
    status: str
    diagnostic: str


@dataclass(frozen=True, slots=True)
class SesNotification:
    """``kind``: bounce | complaint | delivery; ``permanent``: bounceType Permanent;
    ``subtype``: bounceSubType or complaintFeedbackType, lower case."""

    kind: str
    permanent: bool
    subtype: str
    recipients: tuple[SesRecipient, ...]


def ses_notification(text: str) -> SesNotification | None:
    """The SES notification a message body starts with, or None."""
    start = text.find("{")
    if start < 0 or "notificationType" not in text[start:]:
        return None
    data = _first_object(text[start:])
    if isinstance(data, dict) and isinstance(data.get("Message"), str):
        data = _first_object(data["Message"])  # the SNS envelope (raw delivery off)
    if not isinstance(data, dict):
        return None
    kind = str(data.get("notificationType", "")).lower()
    if kind == "bounce":
        bounce = _dict(data.get("bounce"))
        return SesNotification(
            "bounce",
            str(bounce.get("bounceType", "")).lower() == "permanent",
            str(bounce.get("bounceSubType", "")).lower(),
            _recipients(bounce.get("bouncedRecipients")),
        )
    if kind == "complaint":
        complaint = _dict(data.get("complaint"))
        return SesNotification(
            "complaint",
            False,
            str(complaint.get("complaintFeedbackType", "abuse")).lower(),
            _recipients(complaint.get("complainedRecipients")),
        )
    if kind == "delivery":
        delivery = _dict(data.get("delivery"))
        addresses = delivery.get("recipients")
        listed = addresses if isinstance(addresses, list) else []
        return SesNotification(
            "delivery", False, "", tuple(SesRecipient(str(a), "", "") for a in listed)
        )
    return None


def _first_object(text: str) -> Any:
    """The JSON object ``text`` starts with; a relay that broke long lines (Sendmail inserts
    ``!`` + newline + space) is undone first when the text does not parse as it is."""
    for candidate in (text, _UNWRAP.sub("", text)):
        try:
            return json.JSONDecoder().raw_decode(candidate)[0]
        except ValueError:
            continue
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _recipients(value: Any) -> tuple[SesRecipient, ...]:
    entries = value if isinstance(value, list) else []
    return tuple(
        SesRecipient(
            str(entry.get("emailAddress", "")),
            str(entry.get("status", "") or ""),
            " ".join(str(entry.get("diagnosticCode", "") or "").split())[:500],
        )
        for entry in entries
        if isinstance(entry, dict) and entry.get("emailAddress")
    )


def ses_result(notification: SesNotification) -> Classification:
    """What an SES notification says: a complaint, a delivery (``warning``, never scored), or
    each bounced recipient hard or soft by its status and diagnostic, else by
    ``bounceSubType`` (``SUBTYPE_REASONS``) and ``bounceType``."""
    addresses = unique([r.address for r in notification.recipients])
    if notification.kind == "complaint":
        return Classification("complaint", addresses, reason=notification.subtype)
    if notification.kind == "delivery":
        each = tuple(
            RecipientResult(a, "", "delivered", "", "delivered", "warning") for a in addresses
        )
        return Classification(
            "warning", addresses, reason="delivered", action="delivered", per_recipient=each
        )
    subtype_reason = SUBTYPE_REASONS.get(notification.subtype, "undefined")
    code = "550" if notification.permanent else "450"
    default = Diagnosis(subtype_reason, "", is_hard(subtype_reason, code))
    results: list[RecipientResult] = []
    for entry in notification.recipients:
        found = default
        if entry.status or entry.diagnostic:
            found = diagnose(entry.status, entry.diagnostic)
        kind: RecipientKind = "hard" if found.hard else "soft"
        results.append(
            RecipientResult(entry.address.lower(), "", "failed", found.status, found.reason, kind)
        )
    worst = min(results, key=lambda r: rank(r.kind), default=None)
    if worst is None:
        kind = "hard" if default.hard else "soft"
        return Classification(kind, addresses, "", default.reason, "failed")
    return Classification(
        worst.kind, addresses, worst.status, worst.reason, "failed", per_recipient=tuple(results)
    )
