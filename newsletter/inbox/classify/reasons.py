"""Why a delivery failed: a reason from the diagnostic text and the status code, then hard or
soft by the one rule in ``newsletter.deliver.classify``. Pure.

Reasons follow sisimai's names (userunknown, hostunknown, mailboxfull, filtered, rejected,
blocked, spamdetected, expired, suspend, norelaying, securityerror, systemerror, ...).

How a reason is found, in order:

1. Well-known phrases in the diagnostic text (``PHRASES``; first match wins; phrases about
   the sender, policy and the network come before phrases about the recipient, because a
   refusal such as "sender address rejected: user unknown" names the *sender*).
2. Else the RFC 3463 status code: its exact value (``5.1.1``), else its subject (``5.1.x``),
   else its class (``4.x.x`` defers, ``5.x.x`` fails).

Hard or soft: the reason stands for an RFC 3463 code (``REASON_STATUS``: userunknown is
5.1.1, mailboxfull 5.2.2, ...), and ``newsletter.deliver.classify.refusal`` decides on that
code exactly as it decides for a refusal at send time. Only reasons about the address itself
(userunknown, hostunknown, hasmoved, notaccept) are hard.

A "user unknown" text is a filter, not proof about the address (sisimai's ``filtered``), when
it was given at DATA, after the server accepted the recipient at RCPT, or when the status is
x.2.0 (RFC 3463: "the mailbox exists, but something about the destination mailbox has caused
the sending of this DSN").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsletter.deliver.classify import refusal

_C = re.IGNORECASE

# (reason, pattern): first match wins.
PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Exchange Online's directory-based edge blocking: the recipient is not in the directory.
    (
        "userunknown",
        re.compile(r"recipient\s+address\s+rejected:\s+access\s+denied|recipnotfound", _C),
    ),
    (
        "norelaying",
        re.compile(
            r"relay(ing)?\s+(access\s+)?(denied|not\s+(permitted|allowed)|prohibited|refused)|"
            r"(not\s+permitted|unable|not\s+allowed)\s+to\s+relay|rcpthosts|"
            r"we\s+do\s+not\s+relay|relay\s+not\s+permitted",
            _C,
        ),
    ),
    (
        "authfailure",
        re.compile(
            r"\bspf\b|\bdkim\b|\bdmarc\b|sender\s+policy\s+framework|5\.7\.2[3-9]|"
            r"not\s+authorized\s+to\s+send",
            _C,
        ),
    ),
    (
        "securityerror",
        re.compile(
            r"authentication\s+(required|failed|credentials)|\bauth(entication)?\s+error|"
            r"must\s+(issue\s+a\s+)?(starttls|authenticate)|encryption\s+required|"
            r"tls\s+(is\s+)?required|user\s+not\s+authenticated|certificate",
            _C,
        ),
    ),
    (
        "requireptr",
        re.compile(
            r"reverse\s+(dns|lookup|hostname)|\bptr\b|no\s+rdns|\brdns\b|"
            r"cannot\s+find\s+your\s+hostname|client\s+host\s+.*(not\s+)?resolv|"
            r"unresolvable|hostname\s+does\s+not\s+match",
            _C,
        ),
    ),
    (
        "rejected",
        re.compile(
            r"sender\s+(address\s+)?(rejected|denied|refused|verify\s+failed|"
            r"domain\s+(must\s+exist|not\s+found))|domain\s+of\s+sender|"
            r"sender\s+(is\s+)?(not\s+allowed|blacklisted|unknown)|"
            r"(bad|invalid|unknown)\s+sender|mail\s+from\s+.*(rejected|refused)|"
            r"envelope\s+sender|return\s+path|sender\s+verification",
            _C,
        ),
    ),
    (
        "virusdetected",
        re.compile(r"\bvirus|malware|infected", _C),
    ),
    (
        "spamdetected",
        re.compile(
            r"\bspam\b|spam\s+(message|content|detected)|\bjunk\b|\bube\b|\buce\b|"
            r"message\s+content\s+rejected|content\s+.*classified|bulk\s+mail|"
            r"considered\s+(as\s+)?(spam|unsolicited)|unsolicited",
            _C,
        ),
    ),
    (
        "blocked",
        re.compile(
            r"block(ed|list)|black\s*list(ed)?|deny\s*list|\brbl\b|dnsbl|spamhaus|spamcop|"
            r"listed\s+(at|on|in|by)|client\s+host\s+(\[.*\]\s+)?(rejected|blocked)|"
            r"poor\s+reputation|bad\s+reputation|reputation|ip\s+address\s+.*(rejected|blocked|"
            r"refused)|access\s+denied|connection\s+refused\s+by|banned",
            _C,
        ),
    ),
    (
        "toomanyconn",
        re.compile(r"too\s+many\s+(connections|sessions|concurrent)|connection\s+limit", _C),
    ),
    (
        "speeding",
        re.compile(
            r"rate\s+limit|too\s+many\s+(messages|recipients|emails)|try\s+again\s+later", _C
        ),
    ),
    (
        "mesgtoobig",
        re.compile(
            r"(message|mail)\s+(size\s+)?(is\s+)?(too\s+(large|big|long)|exceeds|"
            r"size\s+exceeds)|size\s+limit|message\s+length\s+exceeds|exceeds\s+.*size",
            _C,
        ),
    ),
    (
        "mailboxfull",
        re.compile(
            r"(mailbox|mail\s+box|inbox|account|mail\s+folder|user)\s+(is\s+)?(full|"
            r"over\s*quota)|over\s*quota|quota\s+(exceeded|exceed)|exceed(ed|s)?\s+.*quota|"
            r"insufficient\s+(disk\s+)?space|storage\s+(allocation|limit|quota)|"
            r"mailbox\s+size\s+limit|not\s+enough\s+(storage|space)|disk\s+full",
            _C,
        ),
    ),
    (
        "suspend",
        re.compile(
            r"(account|mailbox|user|address)\s+(has\s+been\s+|is\s+)?(temporarily\s+)?"
            r"(disabled|suspended|inactive|deactivated|locked|frozen|expired|on\s*hold)|"
            r"(disabled|suspended|inactive|deactivated)\s+(account|mailbox|user)|"
            r"not\s+(currently\s+)?active|is\s+not\s+accepting\s+(mail|messages)",
            _C,
        ),
    ),
    (
        "hasmoved",
        re.compile(
            r"has\s+(been\s+)?moved|address\s+(has\s+)?changed|no\s+longer\s+(valid|"
            r"available|in\s+use)|user\s+has\s+moved",
            _C,
        ),
    ),
    (
        "notaccept",
        re.compile(r"null\s+mx|does\s+not\s+accept\s+(e-?)?mail|accepts?\s+no\s+mail", _C),
    ),
    (
        "networkerror",
        re.compile(r"try\s+again|temporary\s+(lookup|dns)", _C),
    ),
    (
        "hostunknown",
        re.compile(
            r"host\s+(or\s+domain\s+name\s+)?(unknown|not\s+found)|unknown\s+host|"
            r"domain\s+(name\s+)?(not\s+found|does\s+not\s+exist|unknown)|"
            r"(unrouteable|unroutable)\s+(mail\s+)?domain|no\s+such\s+(domain|host)|"
            r"name\s+or\s+service\s+not\s+known|nxdomain|no\s+mx\s+(record|for)|"
            r"(?<![@\w.-])[a-z0-9-]+(\.[a-z0-9-]+)+\s+does\s+not\s+exist",
            _C,
        ),
    ),
    (
        "userunknown",
        re.compile(
            r"(user|mailbox|recipient|address|account|addressee)\s+(name\s+)?(is\s+)?"
            r"(unknown|not\s+(found|known|exist|valid|listed)|does\s+not\s+exist|"
            r"doesn'?t\s+exist|invalid|unavailable)|no\s+such\s+(user|mailbox|recipient|"
            r"account|address|person)|unknown\s+(user|recipient|mailbox|address|local\s*part|"
            r"account)|invalid\s+(recipient|mailbox|address|user)|"
            r"does\s+not\s+exist|doesn'?t\s+have\s+an?\s+\S+\s+account|"
            r"(unrouteable|unroutable)\s+address|no\s+mailbox\s+here|not\s+a\s+valid\s+"
            r"(user|mailbox|recipient)|recipient\s+(address\s+)?rejected|"
            r"recipientnotfound|user\s+not\s+local|mailbox\s+not\s+available|"
            r"not\s+our\s+customer|bad\s+(destination\s+)?(mailbox|recipient)",
            _C,
        ),
    ),
    (
        "expired",
        re.compile(
            r"(delivery|retry)\s+(time\s*out|timeout|time\s+expired|period\s+expired)|"
            r"(message|mail)\s+(has\s+)?expired|gave\s+up|giving\s+up|too\s+long\s+in\s+"
            r"(the\s+)?queue|could\s+not\s+be\s+delivered\s+(within|for)|"
            r"retry\s+time\s+not\s+reached|been\s+delayed|delivery\s+.*delayed",
            _C,
        ),
    ),
    (
        "networkerror",
        re.compile(
            r"connection\s+(timed\s+out|refused|reset|lost|closed)|timed\s+out|"
            r"no\s+route\s+to\s+host|network\s+(is\s+)?unreachable|could\s+not\s+connect|"
            r"unable\s+to\s+connect|mail\s+loop|too\s+many\s+hops|loops?\s+back|"
            r"routing\s+loop|hop\s+count",
            _C,
        ),
    ),
    (
        "systemfull",
        re.compile(r"insufficient\s+system\s+storage|system\s+(is\s+)?full", _C),
    ),
    (
        "policyviolation",
        re.compile(r"\bpolic(y|ies)\b|prohibited|not\s+allowed|administrative", _C),
    ),
    (
        "contenterror",
        re.compile(r"content\s+(error|rejected)|(header|mime|encoding)\s+.*(invalid|error)", _C),
    ),
    (
        "filtered",
        re.compile(r"\bfilter(ed)?\b|rejected\s+by\s+(the\s+)?recipient|refused\s+by", _C),
    ),
    (
        "systemerror",
        re.compile(
            r"system\s+(error|failure)|local\s+(configuration\s+)?error|internal\s+error|"
            r"server\s+error|temporar(il)?y\s+(failure|error|unavailable)|i/o\s+error",
            _C,
        ),
    ),
)

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
