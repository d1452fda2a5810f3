"""What some mail servers' notices say in their own words, read as sisimai reads them. Pure.

sisimai reads each mail server's notice with its own module (lib/Sisimai/Lhost/*.pm,
lib/Sisimai/MDA.pm, v5.1.0p3), and some of them name the reason or the SMTP command
themselves, before the general rules (``newsletter.deliver.reasons``) run. A reason found
here is a ``preset``: sisimai keeps it, unless it is one it checks again (``RETRY``).

- Exim (Exim.pm): HELO/EHLO refused -> blocked, MAIL refused -> onhold, its own messages
  ("Unrouteable address" -> hostunknown, "retry timeout exceeded" -> expired, ...).
- Microsoft 365 (Office365.pm): its enhanced codes (5.1.10 -> userunknown, 5.4.1 ->
  norelaying, 5.7.50x ...) and "unknown recipient or mailbox unavailable -> ... @" as a
  refusal at RCPT.
- Outlook.com (Outlook.pm): "Requested action not taken: mailbox unavailable" ->
  userunknown, "the domain is not reachable" -> hostunknown.
- Yahoo (Yahoo.pm): the lines after "Sorry, we were unable to deliver your message" are the
  diagnostic; "[RCPT_TO]" or a quoted ``<address>`` makes it a refusal at RCPT.
- Amazon SES notices by email (AmazonSES.pm): a vague Status (x.0.0, x.1.0) gives way to
  the code in the remote server's quoted reply ("550-'5.7.1 ... Access denied'");
  "Delivery expired" -> expired.
- Local delivery agents (MDA.pm): mail.local, procmail, maildrop, vpopmail, vmailmgr,
  Dovecot: their own words for an unknown user or a full mailbox.

Which module reads a notice is decided by its headers, as sisimai does (two signs at least).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from newsletter.deliver.reasons import find_command, find_status
from newsletter.inbox.classify import headers


@dataclass(frozen=True, slots=True)
class Hints:
    """What a notice's own format says of one recipient: ``reason`` ('' when it says none),
    ``command`` (SMTP command, '' when none), ``status`` (an RFC 3463 code to use when the
    report has none or only x.0.0), ``diagnostic`` (a better text, '' to keep the report's)."""

    reason: str = ""
    command: str = ""
    status: str = ""
    diagnostic: str = ""


_EXIM_SUBJECTS = (
    "Delivery Status Notification", "Mail delivery failed", "Mail failure", "Message frozen",
    "Warning: message ", "error(s) in forwarding or filtering",
)  # fmt: skip
_EXIM_MESSAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("userunknown", ("user not found",)),
    ("hostunknown", (
        "all host address lookups failed permanently",
        "all relevant MX records point to non-existent hosts", "Unrouteable address",
    )),
    ("mailboxfull", ("mailbox is full", "error: quota exceed")),
    ("notaccept", (
        "an MX or SRV record indicated no SMTP service",
        "no host found for existing SMTP connection",
    )),
    ("syntaxerror", (
        "angle-brackets nested too deep", 'expected word or "<"',
        "domain missing in source-routed address", "malformed address:",
    )),
    ("systemerror", (
        "delivery to file forbidden", "delivery to pipe forbidden", "local delivery failed",
        "LMTP error after ",
    )),
    ("contenterror", ('Too many "Received" headers',)),
)  # fmt: skip
_EXIM_DELAYED = (
    "retry timeout exceeded", "No action is required on your part",
    "retry time not reached for any host after a long failure period",
    "all hosts have been failing for a long time and were last tried", "Delay reason: ",
    "has been frozen", "was frozen on arrival by ",
)  # fmt: skip

_O365_SUBJECTS = ("Undeliverable:", "Onbestelbaar:", "Não_entregue:")
_O365_HEADERS = (
    "X-MS-Exchange-Message-Is-Ndr", "X-Microsoft-Antispam-PRVS",
    "X-Exchange-Antispam-Report-Test", "X-Exchange-Antispam-Report-CFA-Test",
    "X-MS-Exchange-CrossTenant-OriginalArrivalTime", "X-MS-Exchange-CrossTenant-FromEntityHeader",
    "X-MS-Exchange-Transport-CrossTenantHeadersStamped",
)  # fmt: skip
_O365_HOSTS = (".outbound.protection.outlook.com", ".prod.outlook.com")
_O365_STATUSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"4\.4\.7", "expired"), (r"4\.4\.312", "networkerror"), (r"4\.4\.316", "expired"),
        (r"4\.7\.26", "authfailure"), (r"4\.7\.[56]\d\d", "blocked"),
        (r"4\.7\.8[5-9]\d", "blocked"), (r"5\.0\.350", "contenterror"),
        (r"5\.1\.10", "userunknown"), (r"5\.4\.1", "norelaying"), (r"5\.4\.6", "networkerror"),
        (r"5\.4\.312", "networkerror"), (r"5\.4\.316", "expired"),
        (r"5\.6\.11", "contenterror"), (r"5\.7\.1", "rejected"), (r"5\.7\.1[23]", "rejected"),
        (r"5\.7\.124", "rejected"), (r"5\.7\.13[3-6]", "rejected"),
        (r"5\.7\.23", "authfailure"), (r"5\.7\.25", "networkerror"),
        (r"5\.7\.50[1-3]", "spamdetected"), (r"5\.7\.50[4-5]", "filtered"),
        (r"5\.7\.50[6-7]", "blocked"), (r"5\.7\.508", "toomanyconn"),
        (r"5\.7\.509", "authfailure"), (r"5\.7\.510", "notaccept"), (r"5\.7\.511", "rejected"),
        (r"5\.7\.512", "policyviolation"), (r"5\.7\.57", "securityerror"),
        (r"5\.7\.60[6-9]", "blocked"), (r"5\.7\.6[1-4]\d", "blocked"),
        (r"5\.7\.7[0-4]\d", "toomanyconn"),
    )
)  # fmt: skip
_O365_RCPT = ("unknown recipient or mailbox unavailable ->", "@")

_OUTLOOK_MESSAGES = (
    ("hostunknown", "The mail could not be delivered to the recipient because the domain is "
     "not reachable"),
    ("userunknown", "Requested action not taken: mailbox unavailable"),
)  # fmt: skip

_YAHOO_START = "Sorry, we were unable to deliver your message"
_YAHOO_END = "--- Below this line is a copy of the message."
_YAHOO_RECIPIENT = re.compile(r"^<[^<>@\s]+@[^<>\s]+>:$")
_YAHOO_QUOTED = re.compile(r"<[^<>]*@[^<>]*>")

_MDA_SENDERS = ("mail delivery subsystem", "mailer-daemon", "postmaster")
_MDA_AGENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dovecot", ("Your message to ", " was automatically rejected:")),
    ("mail.local", ("mail.local: ",)),
    ("procmail", ("procmail: ",)),
    ("maildrop", ("maildrop: ",)),
    ("vpopmail", ("vdelivermail: ",)),
    ("vmailmgr", ("vdeliver: ",)),
)
_MDA_MESSAGES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "dovecot": (
        ("userunknown", ("mailbox doesn't exist: ",)),
        ("mailboxfull", ("quota exceeded", "quota exceeded (mailbox for user is full)",
                         "not enough disk space")),
    ),
    "mail.local": (
        ("userunknown", (": unknown user:", ": user unknown", ": invalid mailbox path",
                         ": user missing home directory")),
        ("mailboxfull", ("disc quota exceeded", "mailbox full or quota exceeded")),
        ("systemerror", ("temporary file write error",)),
    ),
    "procmail": (
        ("mailboxfull", ("quota exceeded while writing",)),
        ("systemfull", ("no space left to finish writing",)),
    ),
    "maildrop": (
        ("userunknown", ("invalid user specified.", "cannot find system user")),
        ("mailboxfull", ("maildir over quota.",)),
    ),
    "vpopmail": (
        ("userunknown", ("sorry, no mailbox here by that name.",)),
        ("filtered", ("account is locked email bounced",
                      "user does not exist, but will deliver to ")),
        ("mailboxfull", ("domain is over quota", "user is over quota")),
    ),
    "vmailmgr": (
        ("userunknown", ("invalid or unknown base user or domain",
                         "invalid or unknown virtual user",
                         "user name does not refer to a virtual user")),
        ("mailboxfull", ("delivery failed due to system quota violation",)),
    ),
}  # fmt: skip


def hints(message: Message, body: str, diagnostic: str, status: str, command: str) -> Hints:
    """What the notice's own format says (``Hints()`` when nothing). ``body``: the notice's
    human-readable text; ``diagnostic``, ``status``, ``command``: what was read so far."""
    if is_office365(message):
        return _office365(diagnostic, status, command)
    if is_outlook(message):
        reason = next((r for r, text in _OUTLOOK_MESSAGES if text in diagnostic), "")
        return Hints(reason=reason)
    if is_exim(message):
        return Hints(reason=exim_reason(diagnostic, command))
    if headers.present(message, "X-YMailISG"):
        return _yahoo(body, diagnostic)
    if is_amazon_ses(message):
        return _amazon_ses(diagnostic, status)
    return mda(message, body)


def is_exim(message: Message) -> bool:
    """Exim.pm's test: two of a From that starts "Mail Delivery System", an Exim Message-ID
    (``<xxxxxxx-xxxxxx-xx@host>``) and one of Exim's subjects."""
    message_id = headers.first(message, "Message-ID").strip()
    score = int(headers.first(message, "From").strip().startswith("Mail Delivery System"))
    score += message_id[:1] == "<" and message_id.find("-") == 8 and message_id.find("@") == 18
    subject = headers.first(message, "Subject")
    score += any(s in subject for s in _EXIM_SUBJECTS)
    return score >= 2


def exim_reason(diagnostic: str, command: str) -> str:
    """The reason an Exim notice gives in its own words ('' when none)."""
    if command in ("HELO", "EHLO"):
        return "blocked"
    if command == "MAIL":
        return "onhold"
    for reason, phrases in _EXIM_MESSAGES:
        if any(p in diagnostic for p in phrases):
            return reason
    if any(p in diagnostic for p in _EXIM_DELAYED):
        return "expired"
    return "mailererror" if "pipe to |" in diagnostic else ""


def is_office365(message: Message) -> bool:
    """Office365.pm's test: two signs of Exchange Online (subject, its headers, its hosts)."""
    subject = headers.first(message, "Subject")
    score = sum(s in subject for s in _O365_SUBJECTS)
    score += sum(headers.present(message, name) for name in _O365_HEADERS)
    received = headers.values(message, "Received")
    score += any(h in value for value in received for h in _O365_HOSTS)
    score += any(h in headers.first(message, "Message-ID") for h in _O365_HOSTS)
    return score >= 2


def _office365(diagnostic: str, status: str, command: str) -> Hints:
    if not status or status.endswith(".0.0"):
        status = find_status(diagnostic) or status
    at = diagnostic.find(_O365_RCPT[0])
    if at >= 0 and diagnostic.find(_O365_RCPT[1], at + len(_O365_RCPT[0])) >= 0:
        command = "RCPT"
    reason = next((r for p, r in _O365_STATUSES if status and p.fullmatch(status)), "")
    return Hints(reason=reason, command=command, status=status)


def is_outlook(message: Message) -> bool:
    """Outlook.pm's test: two of its subject, X-Message-Delivery, X-Message-Info, a hop
    through hotmail.com."""
    score = int("Delivery Status Notification" in headers.first(message, "Subject"))
    score += headers.present(message, "X-Message-Delivery")
    score += headers.present(message, "X-Message-Info")
    score += any(".hotmail.com" in value for value in headers.values(message, "Received"))
    return score >= 2


def _yahoo(body: str, diagnostic: str) -> Hints:
    start = body.find(_YAHOO_START)
    if start >= 0:
        said = body[start:].split(_YAHOO_END, 1)[0].splitlines()[1:]
        kept = [line for line in said if not _YAHOO_RECIPIENT.match(line.strip())]
        diagnostic = " ".join(" ".join(kept).split()) or diagnostic
    command = find_command(diagnostic)
    if not command and _YAHOO_QUOTED.search(diagnostic):
        command = "RCPT"
    return Hints(command=command, diagnostic=diagnostic)


def is_amazon_ses(message: Message) -> bool:
    """AmazonSES.pm's test for an emailed notice: X-AWS-Outgoing or X-SES-Outgoing, and not
    Amazon WorkMail."""
    if "Amazon WorkMail" in headers.first(message, "X-Mailer"):
        return False
    return headers.present(message, "X-AWS-Outgoing") or headers.present(message, "X-SES-Outgoing")


def _amazon_ses(diagnostic: str, status: str) -> Hints:
    if status.find(".0.0") > 0 or status.find(".1.0") > 0:
        start = diagnostic.find("-'")
        start = diagnostic.find('-"') if start < 0 else start
        end = diagnostic.rfind("' ")
        end = diagnostic.rfind('" ') if end < 0 else end
        quoted = diagnostic[start + 2 : end] if start > -1 and end > -1 else diagnostic
        status = find_status(quoted) or status
    return Hints(reason="expired" if "Delivery expired" in diagnostic else "", status=status)


def mda(message: Message, body: str) -> Hints:
    """A local delivery agent's own message (MDA.pm), in a notice from a mail system."""
    sender = headers.first(message, "From").strip().lower()
    if not sender.startswith(_MDA_SENDERS):
        return Hints()
    agent = ""
    for name, marks in _MDA_AGENTS:
        first = body.find(marks[0])
        if first >= 0 and (len(marks) == 1 or 0 <= first <= body.find(marks[1])):
            agent = name
            break
    if not agent:
        return Hints()
    for reason, phrases in _MDA_MESSAGES[agent]:
        for line in body.splitlines():
            if any(p in line.lower() for p in phrases):
                return Hints(reason=reason, command="", diagnostic=line.strip())
    return Hints(reason="undefined")
