"""Why a delivery failed, as sisimai decides it: a reason from the status code, the diagnostic
text and the SMTP command. Pure; the data is in ``newsletter.deliver.reason_table``.

A port of sisimai v5.1.0p3 (https://github.com/sisimai/p5-sisimai, BSD 2-Clause):

- ``reason_of(failure)``: ``Sisimai::Reason->get`` (lib/Sisimai/Reason.pm). A reason the
  reader of one mail server's notices already found (``preset``) stands, unless it is one
  sisimai checks again (``RETRY``). Otherwise each reason of ``TRUE_ORDER`` in turn applies
  its ``true()`` rule (lib/Sisimai/Reason/<Reason>.pm: the status code's own reason, the SMTP
  command, then the phrases); the first that holds wins. When none does, ``anotherone``: the
  status code's reason, else the phrases of ``MATCH_ORDER``, else the status class (x.6
  contenterror, x.7 securityerror), a mailer's exit (``X-Unix``) mailererror, a 50x/40x
  reply syntaxerror, ``Action: delayed`` expired, a refusal of EHLO/HELO blocked; else
  ``onhold`` when there is a diagnostic text, ``undefined`` when there is none.
- ``find_status``, ``find_reply``, ``prefer``: lib/Sisimai/SMTP/Status.pm ``find`` and
  ``prefer``, lib/Sisimai/SMTP/Reply.pm ``find``: the codes in a diagnostic text, and which of
  the report's Status and the text's code to believe.
- ``find_command``: lib/Sisimai/SMTP/Command.pm ``find``: the last SMTP command named (in
  capitals) in a diagnostic text.

Whether a reason is a hard bounce is decided in ``newsletter.deliver.classify``
(``bounce_for_reason``), for delivery reports and send-time refusals alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsletter.deliver.reason_table import PHRASES, REPLY_CODES, STANDARD_CODES

# lib/Sisimai/Reason.pm: $ClassOrder->[0] (true() rules) and ->[1] (phrases only).
TRUE_ORDER = (
    "mailboxfull", "mesgtoobig", "exceedlimit", "suspend", "hasmoved", "norelaying",
    "authfailure", "userunknown", "filtered", "requireptr", "notcompliantrfc", "badreputation",
    "rejected", "hostunknown", "spamdetected", "speeding", "toomanyconn", "blocked",
)  # fmt: skip
MATCH_ORDER = (
    "mailboxfull", "authfailure", "badreputation", "speeding", "spamdetected", "virusdetected",
    "policyviolation", "norelaying", "systemerror", "networkerror", "suspend", "contenterror",
    "systemfull", "notaccept", "expired", "securityerror", "mailererror",
)  # fmt: skip
# Reasons sisimai checks again even when a mail server's reader already gave one.
RETRY = frozenset(
    {"undefined", "onhold", "systemerror", "securityerror", "expired", "suspend",
     "networkerror", "hostunknown", "userunknown"}
)  # fmt: skip
# Commands after which a refusal is about the connection or envelope, not the content.
_ENVELOPE = frozenset({"CONN", "EHLO", "HELO", "MAIL", "RCPT"})
_COMMANDS = (
    "HELO", "EHLO", "MAIL", "RCPT", "DATA", "QUIT", "RSET", "NOOP", "VRFY", "ETRN", "EXPN",
    "HELP", "AUTH", "STARTTLS", "XFORWARD", "CONN",
)  # fmt: skip
_DETECTABLE = (
    "HELO", "EHLO", "STARTTLS", "AUTH PLAIN", "AUTH LOGIN", "AUTH CRAM-", "AUTH DIGEST-",
    "MAIL F", "RCPT", "RCPT T", "DATA", "QUIT", "XFORWARD",
)  # fmt: skip
# Reasons whose true() needs a status code (sisimai returns undef without one).
_NEEDS_STATUS = frozenset({"mailboxfull", "exceedlimit", "suspend", "spamdetected", "speeding"})
_IPV4 = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")


@dataclass(frozen=True, slots=True)
class Failure:
    """What a report says of one failed recipient (the fields of sisimai's ``Fact`` that
    decide the reason).

    ``status``: RFC 3463 code ('' when none); ``diagnostic``: the server's text;
    ``command``: SMTP command it answered (CONN, EHLO, HELO, MAIL, RCPT, DATA or '');
    ``action``: RFC 3464 Action ('' when none); ``reply_code``: SMTP reply code ('550', '');
    ``diagnostic_type``: the Diagnostic-Code type (SMTP, X-UNIX, X-Postfix, ...; '' when
    absent); ``preset``: a reason already found by a mail server's own notice format.
    """

    status: str
    diagnostic: str
    command: str = ""
    action: str = ""
    reply_code: str = ""
    diagnostic_type: str = ""
    preset: str = ""


def matches(reason: str, text: str) -> bool:
    """Whether the lower-cased ``text`` has one of ``reason``'s phrases (``match()``). A
    phrase of more than 20 characters that ends a sentence ("spam message rejected.") also
    matches without its period where the text's clause ends (end of text, punctuation, a
    parenthesis): servers differ in punctuation, not in words."""
    phrases = PHRASES.get(reason)
    if phrases is None or any(p in text for p in phrases.isnot):
        return False
    return any(_said(text, p) for p in phrases.index) or any(
        _aligned(text, p) for p in phrases.pairs
    )


# Shorter sentence-ending phrases ("does not exist.") are too common inside other sentences
# ("domain ... does not exist") to match without their full stop.
_SENTENCE = 20


def _said(text: str, phrase: str) -> bool:
    if phrase in text:
        return True
    if not phrase.endswith(".") or len(phrase) <= _SENTENCE:
        return False
    bare = phrase[:-1]
    at = text.find(bare)
    while at >= 0:
        rest = text[at + len(bare) :].lstrip()
        if not rest or rest[0] in ".;,!?()[]":
            return True
        at = text.find(bare, at + 1)
    return False


def _aligned(text: str, parts: tuple[str, ...]) -> bool:
    """lib/Sisimai/String.pm ``aligned``: every part appears, each after the previous one."""
    start = 0
    for part in parts:
        found = text.find(part, start)
        if found < 0:
            return False
        start = found + len(part)
    return True


def status_reason(status: str) -> str:
    """The reason sisimai gives an RFC 3463 code (``Status->name``); '' when none."""
    return STANDARD_CODES.get(status, "") if _valid_status(status) else ""


def _valid_status(status: str) -> bool:
    parts = status.split(".")
    if not 5 <= len(status) <= 7 or len(parts) != 3 or not all(p.isdigit() for p in parts):
        return False
    return parts[0] in ("2", "4", "5") and int(parts[1]) <= 7


def reason_of(failure: Failure) -> str:
    """The bounce reason (sisimai's names), per ``Sisimai::Reason->get``."""
    if failure.preset and failure.preset not in RETRY:
        return failure.preset
    if failure.status.startswith("2."):
        return "delivered"
    text = failure.diagnostic.lower()
    if _type(failure) == "SMTP":
        for reason in TRUE_ORDER:
            if _true(reason, failure, text):
                return reason
    found = _anotherone(failure, text)
    if found and found != "undefined":
        return found
    if failure.preset and not failure.status:
        # A notice format's reason with no status code: sisimai's reader gives it the pseudo
        # status of that reason (lib/Sisimai/SMTP/Status.pm ``code``, Exim.pm "retry timeout
        # exceeded" -> expired, 4.0.947), whose name ``anotherone`` then returns.
        return failure.preset
    if failure.action.startswith("delayed"):
        return "expired"
    if matches("vacation", text):
        return "vacation"
    return "onhold" if text else "undefined"


def _type(failure: Failure) -> str:
    """The Diagnostic-Code type; sisimai takes an absent one (and Postfix's own) as SMTP."""
    kind = failure.diagnostic_type.upper()
    return "SMTP" if kind in ("", "X-POSTFIX") else kind


def _true(reason: str, f: Failure, text: str) -> bool:
    """``true()`` of lib/Sisimai/Reason/<reason>.pm."""
    if f.preset == reason:
        return True
    named = status_reason(f.status)
    if reason in _NEEDS_STATUS and not f.status:
        return False
    if reason in ("mailboxfull", "exceedlimit", "authfailure", "requireptr", "toomanyconn"):
        return named == reason or matches(reason, text)
    if reason == "blocked":
        return named == reason or matches(reason, text)
    if reason == "mesgtoobig":
        if named == reason:
            return True
        return not (named == "exceedlimit" or f.status == "5.2.3") and matches(reason, text)
    if reason == "suspend":
        return f.reply_code == "525" or matches(reason, text)
    if reason == "norelaying":
        if f.preset in ("securityerror", "systemerror", "undefined"):
            return False
        return f.command not in ("CONN", "EHLO", "HELO") and matches(reason, text)
    if reason == "userunknown":
        return _userunknown(f, named, text)
    if reason == "filtered":
        if named == "suspend":
            return False
        if named == "filtered":
            return matches("userunknown", text) or matches("filtered", text)
        if f.command in _ENVELOPE:
            return False
        return matches("filtered", text) or matches("userunknown", text)
    if reason == "rejected":
        return _rejected(f, named or "undefined", text)
    if reason == "hostunknown":
        if named == "hostunknown":
            return not matches("networkerror", text)
        return matches(reason, text)
    if reason == "spamdetected":
        if named == reason:
            return True
        return f.command not in _ENVELOPE and matches(reason, text)
    return matches(reason, text)  # hasmoved, notcompliantrfc, badreputation, speeding


# Microsoft's name for 5.1.10 "Recipient not found by SMTP address lookup" (Exchange Online
# NDR documentation).
_RECIPIENT_NOT_FOUND = "resolver.adr.recipientnotfound"


def _userunknown(f: Failure, named: str, text: str) -> bool:
    if named == "suspend":
        return False
    if named == "notaccept" and f.status.endswith(".1.10") and not matches("notaccept", text):
        # RFC 7505 gives 5.1.10 to a null MX; Exchange Online gives it to a recipient its
        # directory does not know ("RESOLVER.ADR.RecipientNotFound"), as sisimai's Microsoft
        # rules read it: the text decides.
        return _RECIPIENT_NOT_FOUND in text or matches("userunknown", text)
    if named == "userunknown":
        others = ("norelaying", "blocked", "mailboxfull", "hasmoved", "rejected", "notaccept")
        return not any(matches(other, text) for other in others)
    return f.command == "RCPT" and matches("userunknown", text)


def _rejected(f: Failure, named: str, text: str) -> bool:
    if named == "rejected":
        return True
    if f.command == "MAIL":
        return matches("rejected", text)
    if f.command == "DATA":
        return named != "userunknown" and matches("rejected", text)
    if named in ("onhold", "undefined", "securityerror", "systemerror"):
        return matches("rejected", text)
    return False


def _anotherone(f: Failure, text: str) -> str:
    """``Sisimai::Reason->anotherone``: the fallback when no ``true()`` rule held."""
    reason = status_reason(f.status)
    if reason and reason not in RETRY and _type(f) == "SMTP":
        return reason
    for name in MATCH_ORDER:
        if matches(name, text):
            return name
    if reason:
        return reason
    subject = f.status[:3]
    if subject in ("5.6", "4.6"):
        return "contenterror"
    if subject in ("5.7", "4.7"):
        return "securityerror"
    if _type(f).startswith("X-UNIX"):
        return "mailererror"
    reply = int(f.reply_code) if f.reply_code.isdigit() else 0
    if 400 < reply < 408 or 500 < reply < 508:
        return "syntaxerror"
    if f.action.startswith(("delayed", "expired")):
        return "expired"
    if f.command in ("EHLO", "HELO"):
        return "blocked"
    return ""


def find_status(text: str, klass: str = "") -> str:
    """The first RFC 3463 code in ``text`` (``Status->find``): never part of an IPv4 address
    or a version number; an ``x.0.0`` or ``4.4.7`` only when there is no other; '' when none."""
    padded = " " + _IPV4.sub("***.***.***.***", text) + " "
    classes = (klass,) if klass in ("2", "4", "5") else ("5", "4", "2")
    pattern = "|".join(classes)
    found: list[tuple[int, str]] = []
    for match in re.finditer(rf"(?=(({pattern})\.([0-7])\.(\d{{1,3}})))", padded):
        at = match.start()
        before = padded[at - 1]
        if before.isdigit() or before in "./Vv":
            continue
        code = match.group(1)
        after = padded[at + len(code) : at + len(code) + 1]
        if after.isdigit():
            continue
        found.append((at, code))
    found.sort()
    ordinary = [c for _, c in found if not (c[1:] == ".0.0" or c == "4.4.7")]
    vague = [c for _, c in found if c[1:] == ".0.0" or c == "4.4.7"]
    return ordinary[0] if ordinary else (vague[-1] if vague else "")


def find_reply(text: str, status: str = "") -> str:
    """The SMTP reply code in ``text`` (``Reply->find``), of ``status``'s class when given."""
    if len(text) < 3 or "X-UNIX;" in text.upper():
        return ""
    padded = " " + text + " "
    klass = status[:1]
    codes = REPLY_CODES[klass] if klass in REPLY_CODES else (
        *REPLY_CODES["5"], *REPLY_CODES["4"], *REPLY_CODES["2"]
    )  # fmt: skip
    for code in codes:
        at = padded.find(str(code))
        if at < 0:
            continue
        before, after = padded[at - 1], padded[at + 3]
        if before.isdigit() or before in "./" or after.isdigit() or after in "./":
            continue
        return str(code)
    return ""


def prefer(field: str, in_text: str, reply: str = "") -> str:
    """Which code to believe: the report's ``Status`` or the one in its text
    (``Status->prefer``): a vague ``x.0.0`` or ``4.4.7`` or ``5.3.x`` gives way to a precise
    one; a reply code of the other class decides; else the report's own field."""
    if not field or len(field) <= 4:
        return in_text
    if not in_text or len(in_text) <= 4:
        return field
    first_reply = reply[:1] if reply else ""
    if first_reply and field[0] != in_text[0]:
        if first_reply == field[0]:
            return field
        if first_reply == in_text[0]:
            return in_text
    if field == in_text:
        return field
    if field.find(".0.0") > 0:
        return in_text if in_text.find(".0.0") < 0 else field
    if field.find(".0") > 0 and in_text.find(".0") < 0:
        return in_text
    if in_text.find(".0.0") > 0:
        return field
    if field == "4.4.7" or field.startswith("5.3."):
        return in_text
    if field == "5.1.1":
        return field if in_text.find(".0") > 0 else in_text
    if field == "5.1.3" and in_text.startswith("5.7."):
        return in_text
    return field


def find_command(text: str) -> str:
    """The last SMTP command ``text`` names (``Command->find``), or ''."""
    if len(text) <= 3 or not any(c in text for c in _COMMANDS):
        return ""
    seen: list[str] = []
    position = 0
    for word in _DETECTABLE:
        at = text.find(word, position)
        if at < 0:
            continue
        if at + 4 > len(text):
            break
        position = at
        name = text[at : at + 4]
        name = {"STAR": "STARTTLS", "XFOR": "XFORWARD"}.get(name, name)
        if name not in seen:
            seen.append(name)
    return seen[-1] if seen else ""
