"""Delivery failure notices that no ported notice format reads: the generic rules. Pure.

A notice from a mail server whose own format is not ported (``lhosts``) is still a failure
notice when any of these holds:

- it comes from a mail system (``from_mail_system``): a null reverse-path as From (``<>``,
  or Courier's ``<@>``: RFC 5321 section 4.5.5, RFC 3464 section 2), or a From whose local
  part is MAILER-DAEMON or postmaster (RFC 5321 section 4.5.1);
- its text is an SMTP transcript (``transcript``): ``>>> RCPT TO:<a@b>`` followed by
  ``<<< 550 ...`` (Sendmail, Courier), Postfix's "host X said: 550 ...", qmail's
  ``<a@b>:`` paragraph ending in ``(#5.1.1)`` or "Remote host said: 550 ...".

Only clearly-not-a-failure wording (a delay warning, a success report) keeps a mail
system's message from being one (``clearly_not_a_failure``): a MAILER-DAEMON notice is never
taken for a person's reply.

Who failed (``notice_recipients``), when no report field and no ``flufl.bounce`` detector
names anyone: the RCPT TO of a refused transcript command, ``<addr>:`` and bare-address lines
(qmail, Postfix, Exim, Domino, Sendmail's ``<addr>... User unknown``), ``Original-Recipient``
and ``Final-Recipient`` lines quoted in text (Microsoft 365), and lines that name an address
with the failure ("wasn't delivered to a@b", "550 5.1.1 <a@b>: ..."); read up to where the
returned message starts, never the notice's own addresses (From, To, Reply-To, ...) nor the
returned message's sender (ours: its attached headers, or From/Sender/Reply-To/Return-Path lines
quoted inline), nor a mail system's address (MAILER-DAEMON, postmaster).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Literal

from newsletter.inbox.classify import headers
from newsletter.inbox.classify.reports import returned_headers

MAIL_SYSTEM_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "maildaemon", "postmaster"}
)
_ADDRESS = r"[^\s<>()\[\]\",;:@]{1,64}@[A-Za-z0-9\u0080-\uffff][A-Za-z0-9\-.\u0080-\uffff]{0,252}"
_ADDRESS_RE = re.compile(_ADDRESS)
# A transcript: the client's lines (">>> RCPT TO:<a@b>") and the server's ("<<< 550 ...").
_SENT = re.compile(
    r"^\s*>>>\s*(EHLO|HELO|LHLO|MAIL\s+FROM|RCPT\s+TO|DATA|BDAT|QUIT|RSET|STARTTLS|AUTH"
    r"|\(end of data\)|\.)(?![A-Za-z])(.*)$",
    re.IGNORECASE,
)
_GOT = re.compile(r"^\s*<<<\s*([2-5]\d\d)(?:[ \-]|$)(.*)$")
# Postfix: "<a@b>: host mx.b[192.0.2.1] said: 550 ..."; qmail: "Remote host said: 550 ...",
# "... (#5.1.1)".
_HOST_SAID = re.compile(r"\bhost\s+\S+\s*(?:\[[^\]]*\]\s*)?said:\s*[45]\d\d\b", re.IGNORECASE)
_QMAIL = re.compile(r"^Remote host said:\s*[45]\d\d\b|\(#[45]\.\d{1,3}\.\d{1,3}\)", re.MULTILINE)
_RECIPIENT_LINE = re.compile(rf"^\s*[<\"]?({_ADDRESS})[>\"]?\s*:?\s*$")
_LEADING_RECIPIENT = re.compile(rf"^\s*<({_ADDRESS})>(?::|\.\.\.)\s")
_RCPT = re.compile(rf"RCPT\s+TO:\s*<({_ADDRESS})>", re.IGNORECASE)
_MAIL_FROM = re.compile(rf"MAIL\s+FROM:\s*<({_ADDRESS})>", re.IGNORECASE)
_FIELD = re.compile(
    rf"^\s*(?:Original|Final)-Recipient:\s*(?:rfc822|utf-8)\s*;\s*<?({_ADDRESS})>?\s*$",
    re.IGNORECASE,
)
_FAILURE_WORDS = re.compile(
    r"n[o']t\s+(be\s+)?delivered|couldn't\s+be\s+delivered|could\s+not\s+be\s+delivered|"
    r"undeliverable|delivery\s+(to\s+the\s+following|has\s+failed|failed)|failed|unknown|"
    r"no\s+such|does\s*n[o']t\s+exist|not\s+(be\s+)?found|rejected|refused|invalid|"
    r"disabled|unavailable|over\s+quota|quota\s+exceeded|mailbox\s+(is\s+)?full|"
    r"(?<![\d.])[45]\d\d(?![\d.])|(?<![\d.])[45]\.\d{1,3}\.\d{1,3}(?![\d.])",
    re.IGNORECASE,
)
# Where the returned message (or its headers) starts in a notice's text.
_RETURNED_START = re.compile(
    r"^\s*-{2,}.*\b(original|returned|undelivered)\s+message"
    r"|^\s*-*\s*(below\s+this\s+line\s+is\s+a\s+copy|this\s+is\s+a\s+copy\s+of|"
    r"original\s+message\s+(follows|headers)|the\s+header\s+of\s+the\s+original|"
    r"undelivered\s+message\s+(follows|headers)|message\s+headers\s+follow|"
    r"content-type:\s*(message/rfc822|text/rfc822-headers))"
    r"|^(Received|Return-Path|Message-ID|DKIM-Signature|From|Date):\s",
    re.IGNORECASE,
)
# The sender fields of a returned message quoted inline (ours).
_SENDER_LINE = re.compile(r"^(?:From|Sender|Reply-To|Return-Path):(.*)$", re.I | re.M)
_ID = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")
_ID_LINE = re.compile(r"^(?:Message-ID|In-Reply-To|References):[^\n]*$", re.I | re.M)
_REPLY_OR_FORWARD = re.compile(
    r"^\s*(re|fwd?|aw|wg|tr|sv|vs|antw|rif|enc)\s*(\[\d+\])?\s*:", re.IGNORECASE
)
_DELAY_WORDS = re.compile(
    r"delayed|not\s+yet\s+been\s+delivered|will\s+(continue\s+to|keep\s+trying|retry|try\s+again)"
    r"|still\s+trying|no\s+action\s+is\s+required",
    re.IGNORECASE,
)
_SUCCESS_WORDS = re.compile(
    r"successfully\s+delivered|delivered\s+successfully|was\s+delivered\s+to|"
    r"delivery\s+(status\s+notification\s+)?\(?success|return\s+receipt|has\s+been\s+relayed",
    re.IGNORECASE,
)
# The subjects of delay warnings (the message is still queued; RFC 3464 "delayed"): Exim's
# "Warning: message X delayed 24 hours", Sendmail's "Warning: could not send message for past
# 4 hours", Postfix's "Delayed Mail (still being retried)", Exchange's "Delivery delayed:",
# Gmail's and Exchange's "Delivery Status Notification (Delay)".
_DELAY_SUBJECT = re.compile(
    r"^\s*(?:warning:\s+message\s+\S+\s+delayed|warning:\s+could\s+not\s+send\s+message"
    r"|delayed\s+mail\b|delivery\s+delayed\b|(?:mail\s+|message\s+)delivery\s+delayed"
    r"|delivery\s+status\s+notification\s+\(delay\)|message\s+delayed\b)",
    re.IGNORECASE,
)
_PERMANENT_CODE = re.compile(r"(?<![\d.])5\d\d(?![\d])|(?<![\d.])5\.\d{1,3}\.\d{1,3}")
_PERMANENT = re.compile(
    r"permanent|fatal|could\s+not\s+be\s+delivered|undeliverable|(?<![\d.])5\d\d(?![\d])|"
    r"(?<![\d.])5\.\d{1,3}\.\d{1,3}",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused command of an SMTP transcript: ``command`` (RCPT, DATA, MAIL, ... as
    sisimai names them), ``recipient`` (the RCPT TO address refused, '' for another command)
    and ``reply`` (the server's reply lines, without ``<<<``, on one line)."""

    command: str
    recipient: str
    reply: str


def from_mail_system(message: Message) -> bool:
    """Whether From is a null reverse-path (``<>``, ``<@>``, with or without a name) or a
    mail system's mailbox (MAILER-DAEMON, postmaster: ``MAIL_SYSTEM_LOCAL_PARTS``, with or
    without a domain). An empty or absent From is neither. postmaster is also a person's
    mailbox (RFC 5321 section 4.5.1: a role people read and answer from), so a message from
    it that is a person's reply (``_a_person_replying``) is not a mail system's."""
    if "From" not in message:
        return False
    value = headers.first(message, "From").strip()
    address = parseaddr(value)[1].strip()
    if value.endswith(("<>", "<@>")):
        return True
    local = address.rpartition("@")[0 if "@" in address else 2].lower()
    if local not in MAIL_SYSTEM_LOCAL_PARTS:
        return False
    return not (local == "postmaster" and _a_person_replying(message))


def _a_person_replying(message: Message) -> bool:
    """A reply as a person's mail program writes one: a ``Re:``/``Fwd:`` Subject, an
    ``In-Reply-To`` or ``References`` field (RFC 5322 section 3.6.4), no ``Auto-Submitted``
    other than ``no`` (RFC 3834 section 5) and a Return-Path that is not null."""
    automatic = headers.first(message, "Auto-Submitted", "no").strip().lower() != "no"
    null_path = headers.first(message, "Return-Path", "x").strip() in ("<>", "")
    threaded = headers.present(message, "In-Reply-To") or headers.present(message, "References")
    return is_reply_or_forward(message) and threaded and not automatic and not null_path


def is_reply_or_forward(message: Message) -> bool:
    """Whether the Subject starts with a reply or forward prefix (Re:, Fwd:, AW:, WG:, ...):
    a person's message, even when it quotes a notice."""
    return bool(_REPLY_OR_FORWARD.match(headers.first(message, "Subject")))


def transcript(text: str) -> list[Refusal]:
    """The refused commands of an SMTP transcript in ``text`` (``>>> COMMAND`` lines, each
    answered by ``<<< NNN text`` lines), in order; [] when the text has none."""
    refused: list[Refusal] = []
    command, recipient = "", ""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        sent = _SENT.match(lines[index])
        got = _GOT.match(lines[index])
        index += 1
        if sent:
            command = _command(sent.group(1))
            rcpt = _RCPT.search(lines[index - 1])
            recipient = rcpt.group(1) if rcpt else ""
            continue
        if not got or not command or got.group(1)[0] not in "45":
            continue
        reply = [f"{got.group(1)} {got.group(2).strip()}"]
        while index < len(lines) and (more := _GOT.match(lines[index])):
            reply.append(more.group(2).strip())
            index += 1
        refused.append(Refusal(command, recipient, " ".join(" ".join(reply).split())[:500]))
        command = ""
    return refused


def _command(sent: str) -> str:
    word = sent.upper().split()[0] if sent.split() else ""
    if word in ("(END", "."):
        return "DATA"
    return {"LHLO": "EHLO", "BDAT": "DATA"}.get(word, word)


def quotes_smtp_failure(text: str) -> bool:
    """Whether ``text`` (not quoted with ``>``) carries a refused transcript command,
    Postfix's "host X said: 5NN/4NN", or qmail's "Remote host said: 5NN" / ``(#5.1.1)``."""
    if transcript(text):
        return True
    unquoted = "\n".join(line for line in text.splitlines() if not line.startswith(">"))
    return bool(_HOST_SAID.search(unquoted) or _QMAIL.search(unquoted))


def clearly_not_a_failure(text: str) -> Literal["warning", "other", ""]:
    """``'warning'`` when a mail system's text only says the message is delayed, ``'other'``
    when it only says it was delivered or relayed, '' otherwise (it may be a failure)."""
    if _PERMANENT.search(text):
        return ""
    if _DELAY_WORDS.search(text):
        return "warning"
    return "other" if _SUCCESS_WORDS.search(text) else ""


def notice_recipients(message: Message, text: str) -> tuple[str, ...]:
    """The failed addresses a notice's ``text`` names (see the module docstring), lower
    case, in order, no duplicates; never the notice's own or the returned message's sender."""
    own = own_addresses(message, text)
    refused = [r.recipient for r in transcript(text) if r.recipient]
    found: list[str] = list(refused)
    own |= {m.lower() for m in _MAIL_FROM.findall(text)}
    for line in text.splitlines():
        if _RETURNED_START.match(line):
            break
        if line.startswith(">") and not line.startswith(">>>"):
            continue  # quoted text
        found.extend(_named(line))
    cleaned = (a.strip("'\"`").rstrip(".").lower() for a in found)
    return tuple(
        dict.fromkeys(
            a
            for a in cleaned
            if "@" in a and a not in own and a.partition("@")[0] not in MAIL_SYSTEM_LOCAL_PARTS
        )
    )


def _named(line: str) -> list[str]:
    for pattern in (_RECIPIENT_LINE, _LEADING_RECIPIENT, _FIELD):
        match = pattern.match(line)
        if match:
            return [match.group(1)]
    if line.lstrip().startswith(">>>"):
        return []  # a transcript line: refused RCPT TO addresses are read by ``transcript``
    if _FAILURE_WORDS.search(line):
        return [a for a in _ADDRESS_RE.findall(line) if not line.lstrip().startswith("MAIL")]
    return []


def own_addresses(message: Message, text: str) -> set[str]:
    """Addresses a notice names that are never a failed recipient, lower case: its own
    sender and recipient fields (From, To, Reply-To, Return-Path, ...), the returned
    message's sender fields (ours; attached, or quoted inline in ``text``), and the
    addr-spec-like Message-IDs of both (``<id@host>``)."""
    names = ("From", "Sender", "Reply-To", "To", "Cc", "Delivered-To", "X-Original-To",
             "Return-Path", "Envelope-To", "Errors-To")  # fmt: skip
    ids = ("Message-ID", "In-Reply-To", "References")
    values = [v for name in names for v in headers.values(message, name)]
    id_values = [v for name in ids for v in headers.values(message, name)]
    for returned in returned_headers(message):
        for name in ("From", "Sender", "Reply-To", "Return-Path"):
            values.extend(headers.values(returned, name))
        id_values.extend(v for name in ids for v in headers.values(returned, name))
    found = {addr.lower() for _, addr in getaddresses(values) if "@" in addr}
    quoted = [v[:998] for v in _SENDER_LINE.findall(text)]
    found |= {addr.lower() for _, addr in getaddresses(quoted) if "@" in addr}
    found |= {m.lower() for v in [*id_values, *_ID_LINE.findall(text)] for m in _ID.findall(v)}
    return found


def not_ours(message: Message, text: str, addresses: Iterable[str]) -> tuple[str, ...]:
    """``addresses`` without ``own_addresses`` and mail systems' (MAILER-DAEMON,
    postmaster), except those X-Failed-Recipients names: what a third-party detector
    (``flufl.bounce``) found, made safe to score."""
    own = own_addresses(message, text)
    named = {  # X-Failed-Recipients says it outright (Exim, Gmail): kept whatever else holds
        a.strip().lower()
        for v in headers.values(message, "X-Failed-Recipients")
        for a in v.split(",")
    }
    return tuple(
        a
        for a in addresses
        if a.lower() in named
        or (a.lower() not in own and a.partition("@")[0].lower() not in MAIL_SYSTEM_LOCAL_PARTS)
    )


def is_failure_notice(message: Message, text: str) -> bool:
    """A notice the sender-and-subject test of ``plaintext.looks_like_bounce`` missed: from a
    mail system and not ``clearly_not_a_failure``, or (not a person's reply or forward) its
    text quotes an SMTP failure (``quotes_smtp_failure``)."""
    if from_mail_system(message):
        return not clearly_not_a_failure(text)
    return not is_reply_or_forward(message) and quotes_smtp_failure(text)


def is_delay_warning(message: Message, text: str) -> bool:
    """Whether a program's message only warns that delivery is delayed (sisimai: delayed;
    RFC 3464 ``Action: delayed``), in text form: not a person's reply or forward, sent by a
    mail system (``from_mail_system``, a null Return-Path, ``Auto-Submitted``), and either a
    delay subject (``_DELAY_SUBJECT``) with no permanent reply or status code in the text,
    or a text that only says the message is delayed (``clearly_not_a_failure``)."""
    if is_reply_or_forward(message):
        return False
    null_path = headers.first(message, "Return-Path", "x").strip() in ("<>", "")
    automatic = headers.first(message, "Auto-Submitted", "no").strip().lower() != "no"
    if not (from_mail_system(message) or null_path or automatic):
        return False
    if _DELAY_SUBJECT.match(headers.first(message, "Subject")):
        return not _PERMANENT_CODE.search(text)
    return clearly_not_a_failure(text) == "warning"
