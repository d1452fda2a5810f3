"""Machine-readable reports inside a message, read with the ``email`` package's own parsing. Pure.

- RFC 3464 delivery status notifications: a ``message/delivery-status`` part (RFC 6533's
  ``message/global-delivery-status`` too), whose body is a per-message field block followed
  by one block per recipient. The ``email`` package parses such a part into a list of header
  blocks; a part it left as text is split on blank lines and parsed block by block.
- RFC 5965 ARF complaints: a ``message/feedback-report`` part (``Feedback-Type``,
  ``Original-Rcpt-To``, ``Removal-Recipient``).
- The returned message (``message/rfc822``, ``text/rfc822-headers`` and their RFC 6532
  ``global`` forms): its Message-IDs, which prove that a report concerns a message we sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

from newsletter.inbox.classify import headers
from newsletter.text import one_line

DELIVERY_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
RETURNED_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
RETURNED_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,298}>")
_MESSAGE_ID_LINE = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]{1,298}>)", re.IGNORECASE | re.MULTILINE)
# RFC 6533 section 3: EmbeddedUnicodeChar, "\\x{" 2*6HEXDIG "}".
_UNICODE_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]{2,6})\}")
_BLANK_LINE = re.compile(r"\r?\n[ \t]*\r?\n")
# Complaint notices without a feedback-report part (Microsoft's JMRP, older feedback loops).
_COMPLAINT_SUBJECT = re.compile(
    r"complaint\s+about\s+message|(email\s+)?feedback\s+report|abuse\s+report|spam\s+report",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    """One per-recipient block of an RFC 3464 report (RFC 3464 section 2.3).

    ``final_recipient``/``original_recipient``: bare addresses ('' when absent); ``action``:
    failed | delayed | delivered | relayed | expanded, lower case ('' when absent);
    ``status``: the RFC 3463 code (``5.1.1``, '' when absent); ``diagnostic``: the
    Diagnostic-Code text without its type (``smtp;``), on one line, at most 500 characters;
    ``diagnostic_type``: that type, upper case (``SMTP``, ``X-UNIX``; '' when absent);
    ``remote_mta``: the Remote-MTA host name, lower case ('' when absent).
    """

    final_recipient: str
    original_recipient: str
    action: str
    status: str
    diagnostic: str
    diagnostic_type: str = ""
    remote_mta: str = ""


@dataclass(frozen=True, slots=True)
class FeedbackReport:
    """An RFC 5965 feedback report: ``feedback_type`` (abuse, fraud, virus, other, not-spam,
    lower case) and the addresses it names (Original-Rcpt-To, Removal-Recipient)."""

    feedback_type: str
    recipients: tuple[str, ...]


def bare_address(value: str) -> str:
    """``rfc822; <user@example.org>`` -> ``user@example.org`` ('' for no address).

    RFC 6533's ``utf-8;`` address type is decoded: its ``\\x{HEX}`` escapes
    (EmbeddedUnicodeChar, in utf-8-addr-xtext and utf-8-addr-unitext) become the characters
    they name, and the UTF-8 address is kept as it is (no RFC 5322 parsing, which would mangle
    it). The result may hold any character: escape it before showing it (``text.visible``)."""
    kind, semicolon, rest = value.partition(";")
    if semicolon and kind.strip().lower() == "utf-8":
        address = _UNICODE_ESCAPE.sub(_unescape, rest).strip().strip("<>").strip()
        return address if "@" in address and not any(c.isspace() for c in address) else ""
    candidate = rest if semicolon else value
    address = parseaddr(candidate.strip())[1].strip().strip("<>").strip()
    return address if "@" in address else ""


def _unescape(match: re.Match[str]) -> str:
    point = int(match.group(1), 16)
    if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
        return match.group(0)  # no character: kept as written
    return chr(point)


def delivery_statuses(message: Message) -> list[RecipientStatus]:
    """Every per-recipient block of every delivery-status part in ``message`` (RFC 3464),
    outside the returned message (a report quoted inside it is about another delivery)."""
    found: list[RecipientStatus] = []
    for part in own_parts(message):
        if part.get_content_type() not in DELIVERY_STATUS_TYPES:
            continue
        for block in _field_blocks(part):
            final = bare_address(headers.first(block, "Final-Recipient"))
            original = bare_address(headers.first(block, "Original-Recipient"))
            if not (final or original):
                continue
            status = headers.first(block, "Status").strip().split(" ")[0]
            diagnostic = headers.first(block, "Diagnostic-Code")
            kind, semicolon, text = diagnostic.partition(";")
            found.append(
                RecipientStatus(
                    final_recipient=final,
                    original_recipient=original,
                    action=headers.first(block, "Action").strip().lower(),
                    status=status,
                    diagnostic=one_line(text if semicolon else diagnostic, 500),
                    diagnostic_type=kind.strip().upper() if semicolon else "",
                    remote_mta=_host(headers.first(block, "Remote-MTA")),
                )
            )
    return found


def own_parts(message: Message) -> list[Message]:
    """The parts of ``message`` (itself included), depth first, without looking inside a
    returned message (``message/rfc822``, ``message/global``)."""
    found = [message]
    if message.get_content_type() in RETURNED_MESSAGE_TYPES or not message.is_multipart():
        return found
    payload = message.get_payload()
    for part in payload if isinstance(payload, list) else []:
        if isinstance(part, Message):
            found.extend(own_parts(part))
    return found


def _host(value: str) -> str:
    """``dns; mx.example.org`` -> ``mx.example.org``."""
    return value.partition(";")[2].strip().strip("[]").lower() if ";" in value else ""


def _field_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [block for block in payload if isinstance(block, Message)]
        if len(blocks) != 1 or not blocks[0].get_payload():
            return blocks
        # A type the email package does not know as a report (message/global-delivery-
        # status) is parsed as one message: the first block its headers, the rest its body.
        # as_bytes keeps raw UTF-8 (RFC 6533's unitext addresses) that as_string would lose.
        try:
            text = blocks[0].as_bytes().decode("utf-8", "replace")
        except Exception:  # the standard library's generator on malformed input
            text = blocks[0].as_string()
    else:
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    return [HeaderParser().parsestr(chunk.strip()) for chunk in _BLANK_LINE.split(text)]


def feedback_report(message: Message) -> FeedbackReport | None:
    """The first ``message/feedback-report`` part (RFC 5965) outside the returned message, or
    None."""
    for part in own_parts(message):
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = _field_blocks(part)
        merged = {k.lower(): v for block in fields for k, v in headers.items(block)}
        named = [
            v
            for block in fields
            for name in ("Original-Rcpt-To", "Removal-Recipient")
            for v in headers.values(block, name)
        ]
        recipients = tuple(a for _, a in getaddresses(named) if "@" in a)
        return FeedbackReport(merged.get("feedback-type", "").strip().lower(), recipients)
    return None


def is_complaint_notice(message: Message) -> bool:
    """A feedback-loop notice without RFC 5965 structure: a complaint subject and the
    complained-about message attached."""
    subject = headers.first(message, "Subject")
    return bool(_COMPLAINT_SUBJECT.search(subject)) and bool(returned_headers(message))


def returned_headers(message: Message) -> list[Message]:
    """The header blocks of the returned message(s) a report carries."""
    found: list[Message] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind in RETURNED_MESSAGE_TYPES:
            payload = part.get_payload()
            if isinstance(payload, list):
                found.extend(m for m in payload if isinstance(m, Message))
        elif kind in RETURNED_HEADER_TYPES:
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
            found.append(HeaderParser().parsestr(text.lstrip()))
    return found


def quoted_message_ids(message: Message, body_text: str = "") -> tuple[str, ...]:
    """Message-IDs of the returned message: from its attached headers, else from
    ``Message-ID:`` lines quoted in ``body_text`` (non-RFC 3464 bounces quote it inline)."""
    found: list[str] = []
    for returned in returned_headers(message):
        for value in headers.values(returned, "Message-ID"):
            found.extend(_MESSAGE_ID.findall(value))
    own = set(_MESSAGE_ID.findall(headers.first(message, "Message-ID")))
    found.extend(m for m in _MESSAGE_ID_LINE.findall(body_text) if m not in own)
    return tuple(dict.fromkeys(found))
