"""Why a delivery failed: a reason from the diagnostic text and the status code, then hard or
soft by the one rule in ``newsletter.deliver.classify``. Pure.

Reasons follow sisimai's names (userunknown, hostunknown, mailboxfull, filtered, rejected,
blocked, spamdetected, expired, suspend, norelaying, securityerror, systemerror, ...).

How a reason is found, in order:

1. Well-known phrases in the diagnostic text (``phrases.PHRASES``; first match wins).
2. Else the RFC 3463 status code: its exact value (``5.1.1``), else its subject (``5.1.x``),
   else its class (``4.x.x`` defers, ``5.x.x`` fails).

Hard or soft: the reason stands for an RFC 3463 code (``REASON_STATUS``: userunknown is
5.1.1, mailboxfull 5.2.2, ...), and ``newsletter.deliver.classify.refusal`` decides on that
code exactly as it decides for a refusal at send time. Only reasons about the address itself
(userunknown, hostunknown, hasmoved, notaccept) are hard.

A "user unknown" text is a filter, not proof about the address (sisimai's ``filtered``), when
it was given at DATA, after the server accepted the recipient at RCPT, or when the status is
x.2.0 (RFC 3463: "the mailbox exists, but something about the destination mailbox has caused
the sending of this DSN"). A security or policy status (x.7.x) is kept over a "user unknown"
text (the server refused on policy; it did not judge the address), except Exchange Online's
"Recipient address rejected: Access denied", which it sends with 5.7.1 for addresses not in
its directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsletter.deliver.classify import refusal
from newsletter.inbox.classify.phrases import EXCHANGE_NOT_FOUND, PHRASES

# The RFC 3463 status a reason stands for, for the hard/soft rule (class digit from the report).
REASON_STATUS: dict[str, str] = {
    "userunknown": "x.1.1",
    "hostunknown": "x.1.2",
    "hasmoved": "x.1.6",
    "notaccept": "x.1.10",
    "rejected": "x.1.8",
    "mailboxfull": "x.2.2",
    "suspend": "x.2.1",
    "filtered": "x.2.0",
    "exceedlimit": "x.2.3",
    "mesgtoobig": "x.3.4",
    "systemfull": "x.3.1",
    "systemerror": "x.3.0",
    "networkerror": "x.4.0",
    "expired": "x.4.7",
    "toomanyconn": "x.4.5",
    "syntaxerror": "x.5.0",
    "contenterror": "x.6.0",
    "securityerror": "x.7.0",
    "norelaying": "x.7.1",
    "blocked": "x.7.1",
    "requireptr": "x.7.25",
    "authfailure": "x.7.26",
    "policyviolation": "x.7.1",
    "spamdetected": "x.7.1",
    "virusdetected": "x.7.1",
    "speeding": "x.7.1",
}

# By exact status, then by subject (RFC 3463 section 3): used when no phrase matched.
STATUS_REASONS: dict[str, str] = {
    "1.1": "userunknown",
    "1.2": "hostunknown",
    "1.3": "userunknown",
    "1.4": "systemerror",
    "1.5": "userunknown",
    "1.6": "hasmoved",
    "1.7": "rejected",
    "1.8": "rejected",
    "1.10": "notaccept",
    "2.0": "filtered",
    "2.1": "suspend",
    "2.2": "mailboxfull",
    "2.3": "exceedlimit",
    "3.1": "systemfull",
    "3.4": "mesgtoobig",
    "4.4": "hostunknown",
    "4.7": "expired",
    "7.1": "blocked",
}
SUBJECT_REASONS: dict[str, str] = {
    "1": "userunknown",
    "2": "filtered",
    "3": "systemerror",
    "4": "networkerror",
    "5": "syntaxerror",
    "6": "contenterror",
    "7": "securityerror",
}

STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
# In the text: only failures (a "250 ok" earlier in a transcript says nothing).
FAILED_STATUS = re.compile(r"(?<![\d.])([45])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
REPLY_CODE = re.compile(r"(?<![\d.\-])([45]\d\d)(?:[ \-]|$)")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """``reason`` (sisimai's names, '' when nothing is known), ``status`` (the RFC 3463 code
    the report gave, or one found in its text; '' when none) and ``hard`` (the address is
    permanently bad)."""

    reason: str
    status: str
    hard: bool


def _status_reason(status: str) -> str:
    if not _specific(status):
        return ""
    _class, _, rest = status.partition(".")
    return STATUS_REASONS.get(rest) or SUBJECT_REASONS.get(rest.partition(".")[0], "")


def _specific(status: str) -> bool:
    found = STATUS.fullmatch(status.strip())
    return found is not None and (found.group(2), found.group(3)) != ("0", "0")


def diagnose(
    status: str, text: str, *, permanent: bool | None = None, command: str = ""
) -> Diagnosis:
    """The reason for one failed recipient and whether it is hard.

    ``status``: the report's RFC 3463 code ('' when absent); ``text``: its diagnostic text
    (Diagnostic-Code, or the lines a non-RFC 3464 bounce gave); ``permanent``: whether the
    report gave up for good (Action: failed), when the status does not say; ``command``:
    the SMTP command the refusal answered (rcpt | mail | data | connect | '').
    """
    in_text = FAILED_STATUS.search(text)
    if not _specific(status) and in_text is not None:
        found = ".".join(in_text.groups())
        status = found if _specific(found) or not status else status
    reply = REPLY_CODE.search(text)
    klass = status[:1] if status[:1] in "245" and status else ""
    if not klass:
        klass = reply.group(1)[:1] if reply else ("5" if permanent is not False else "4")
    if klass == "2":
        return Diagnosis("delivered", status, False)
    reason = next((name for name, pattern in PHRASES if pattern.search(text)), "")
    if not reason:
        reason = _status_reason(status)
    by_status = _status_reason(status)
    if reason == "userunknown" and (command == "data" or by_status == "filtered"):
        reason = "filtered"
    policy = _specific(status) and status.split(".")[1] == "7"
    if reason == "userunknown" and policy and not EXCHANGE_NOT_FOUND.search(text):
        reason = by_status
    if reason in ("userunknown", "hostunknown") and command in ("mail", "connect"):
        reason = "rejected"
    if not reason:
        reason = "undefined" if klass == "5" else "expired"
    code = int(reply.group(1)) if reply and reply.group(1)[:1] == klass else int(klass) * 100 + 50
    return Diagnosis(reason, status, is_hard(reason, code, status, text))


def is_hard(reason: str, code: int, status: str = "", text: str = "") -> bool:
    """Whether ``reason`` (with the reply ``code``, e.g. 550, and the report's ``status``)
    makes a hard bounce: the send-time rule, ``refusal``, on the status the reason stands for."""
    standing = REASON_STATUS.get(reason)
    enhanced = f"{str(code)[:1]}{standing[1:]}" if standing else status
    return refusal(code, enhanced if _specific(enhanced) else None, "report", text).bounce == "hard"
