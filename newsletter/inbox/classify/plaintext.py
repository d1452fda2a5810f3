"""Bounces that are not (only) RFC 3464 reports: who failed, and what the server said. Pure.

- Failed addresses: ``flufl.bounce`` (Mailman's detectors for Exim, Postfix, qmail, Yahoo,
  Microsoft, GroupWise and others) and the ``X-Failed-Recipients`` header (Exim, Gmail).
- What the server said: the lines of the human-readable part that carry an SMTP reply code
  (RFC 5321 section 4.2) or an RFC 3463 status, with their continuation lines.
- At which SMTP command it was said (``smtp_command``), as sisimai reads it: Postfix's "(in
  reply to RCPT TO command)", Exim's "after RCPT TO:", else the last ``>>> COMMAND`` line of
  a Sendmail transcript (lib/Sisimai/Lhost/Postfix.pm, Exim.pm, Sendmail.pm). One command
  per message (the first one named).
- The notice's own paragraph around a report's short Diagnostic-Code (``quoting_paragraph``).
- Whether a message is a bounce at all (``looks_like_bounce``): the well-known sender names
  and subjects of delivery failure notices, or failed addresses found in a message that a
  program sent (never a person's message quoting a bounce).
"""

from __future__ import annotations

import logging
import re
from email.message import Message

from flufl.bounce import all_failures

from newsletter.deliver.reasons import find_command
from newsletter.inbox.classify import headers
from newsletter.inbox.classify.reports import DELIVERY_STATUS_TYPES, RETURNED_MESSAGE_TYPES

log = logging.getLogger(__name__)

TEXT_LIMIT = 20_000
_CODE_LINE = re.compile(
    r"(?<![\d.\-])([45]\d\d)([ \-]|$)|(?<![\d.])[45]\.\d{1,3}\.\d{1,3}(?![\d.])"
)
_NOTICE_SENDER = re.compile(
    r"mailer-daemon|postmaster|mail\s+delivery\s+(system|subsystem)|\bmmdf\b|"
    r"mail\s+administrator|mail\s+transport\s+system",
    re.IGNORECASE,
)
_NOTICE_SUBJECT = re.compile(
    r"undeliver(ed|able)|delivery\s+(status\s+notification|failure|failed|problem|"
    r"notification)|returned\s+mail|mail\s+delivery\s+failed|failure\s+notice|"
    r"could\s+not\s+be\s+delivered|non[-\s]?delivery|delivery\s+has\s+failed|"
    r"message\s+not\s+delivered|warning:\s+could\s+not\s+send|rejected|bounced?|"
    r"mail\s+system\s+error|delivery\s+report|mail\s+failure|\berrors?\b|\bfailure\b",
    re.IGNORECASE,
)
_IN_REPLY_TO = re.compile(
    r"in\s+reply\s+to\s+(end\s+of\s+)?(?P<cmd>rcpt|mail|data|helo|ehlo|end)\b"
    r"|after\s+(?P<exim>rcpt|mail|end\s+of\s+data|data|initial\s+connection)",
    re.IGNORECASE | re.DOTALL,
)

_SENDMAIL_SENT = re.compile(r"^>>> (.+)$", re.MULTILINE)


def human_text(message: Message) -> str:
    """The text/plain parts (else text/html without tags) outside any returned message and
    report part, decoded, joined, at most 20 000 characters. A multipart message whose
    boundary never appears is all text."""
    plain: list[str] = []
    html: list[str] = []
    _collect(message, plain, html)
    text = "\n".join(plain) if plain else re.sub(r"<[^>]*>", " ", "\n".join(html))
    return text[:TEXT_LIMIT]


def _collect(part: Message, plain: list[str], html: list[str]) -> None:
    kind = part.get_content_type()
    if kind in RETURNED_MESSAGE_TYPES or kind in DELIVERY_STATUS_TYPES:
        return
    if part.is_multipart():
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, Message):
                _collect(sub, plain, html)
        return
    # A multipart whose boundary never appears (StartBoundaryNotFoundDefect) is read as text.
    unsplit = part.get_content_maintype() == "multipart"
    if kind not in ("text/plain", "text/html") and not unsplit:
        return
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return
    charset = part.get_content_charset() or "utf-8"
    try:
        text = raw.decode(charset, "replace")
    except LookupError:
        text = raw.decode("utf-8", "replace")
    (html if kind == "text/html" else plain).append(text)


def failed_addresses(message: Message) -> tuple[frozenset[str], frozenset[str]]:
    """(temporary, permanent) failed addresses, by ``flufl.bounce`` and X-Failed-Recipients."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # heuristic third-party parsers on untrusted mail: never a traceback
        log.debug("flufl.bounce could not read the message", exc_info=True)
        temporary, permanent = frozenset(), frozenset()
    failed = {
        a.strip() for v in headers.values(message, "X-Failed-Recipients") for a in v.split(",")
    }
    perm = {_text(a) for a in permanent} | {a for a in failed if "@" in a}
    temp = {_text(a) for a in temporary} - perm
    return frozenset(a for a in temp if "@" in a), frozenset(a for a in perm if "@" in a)


def _text(address: bytes | str) -> str:
    value = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
    return value.strip().strip("<>")


def diagnostic_lines(text: str, limit: int = 500) -> str:
    """The lines of ``text`` that carry an SMTP reply code or an RFC 3463 status, each with
    its indented continuation lines, on one line ('' when none)."""
    lines = text.splitlines()
    picked: list[str] = []
    for index, line in enumerate(lines):
        if not _CODE_LINE.search(line) or line.lstrip().startswith(">>>"):
            continue
        picked.append(line.strip())
        for follow in lines[index + 1 : index + 4]:
            if follow[:1] in (" ", "\t") and follow.strip() and not _CODE_LINE.search(follow):
                picked.append(follow.strip())
            else:
                break
    return " ".join(" ".join(picked).split())[:limit]


def smtp_command(text: str) -> str:
    """The SMTP command the failure answered, in sisimai's names: RCPT | MAIL | DATA | HELO |
    EHLO | CONN | '' (unknown)."""
    match = _IN_REPLY_TO.search(text)
    if match is None:
        sent = _SENDMAIL_SENT.findall(text)
        return find_command(sent[-1]) if sent else ""
    word = (match.group("cmd") or match.group("exim") or "").upper()
    if word.startswith(("RCPT", "MAIL", "HELO", "EHLO")):
        return word[:4]
    if word.startswith("INITIAL"):
        return "CONN"
    return "DATA"


def quoting_paragraph(text: str, diagnostic: str) -> str:
    """The paragraph of the notice's text that quotes ``diagnostic`` at more length, on one
    line ('' when none): Postfix's "host ... said: 550 ... (in reply to RCPT TO command)"
    around the report's shorter Diagnostic-Code (lib/Sisimai/Lhost/Postfix.pm replaces the
    one with the other when the longer carries a status or reply code)."""
    wanted = " ".join(diagnostic.split())
    if len(wanted) < 8:
        return ""
    for block in re.split(r"\n[ \t\r]*\n", text):
        line = " ".join(block.split())
        if len(line) > len(wanted) and wanted in line and _CODE_LINE.search(line):
            return line[:500]
    return ""


def looks_like_bounce(message: Message, failed: int) -> bool:
    """A delivery failure notice: the sender and subject are those of a mail system's notice,
    or ``failed`` addresses were found in a message that a program sent (a notice sender or
    subject, a null Return-Path, ``Auto-Submitted``, ``X-Failed-Recipients``). A person's
    message that merely quotes a bounce is not one."""
    sender = _NOTICE_SENDER.search(headers.first(message, "From"))
    subject = _NOTICE_SUBJECT.search(headers.first(message, "Subject"))
    if sender and subject:
        return True
    if not failed:
        return False
    null_path = headers.first(message, "Return-Path", "x").strip() in ("<>", "")
    automatic = headers.first(message, "Auto-Submitted", "no").strip().lower() != "no"
    return bool(
        sender
        or subject
        or null_path
        or automatic
        or headers.present(message, "X-Failed-Recipients")
    )
