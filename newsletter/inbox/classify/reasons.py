"""Why one recipient's delivery failed, from what a report says of it: sisimai's reason model
(``newsletter.deliver.reasons``) and the one hard/soft rule
(``newsletter.deliver.classify.bounce_for_reason``, shared with send-time refusals). Pure.

As sisimai's ``Fact`` does (lib/Sisimai/Fact.pm, DIAGNOSTICCODE): the status code and reply
code in the diagnostic text are found, and ``prefer`` chooses between the report's Status and
the text's code; the SMTP command comes from the notice (Postfix's "in reply to RCPT TO
command", Exim's "after RCPT TO", Sendmail's ``>>> DATA``) or else from the text. Then the
reason (``reason_of``) and from it, hard or soft.

Only three reasons are hard: userunknown, hostunknown, hasmoved (and notaccept, a null MX,
with a permanent code). A "user unknown" text is userunknown only when the status code says
so (5.1.1, 5.1.0, 5.1.3) or the refusal answered RCPT; at DATA, or with a status about the
mailbox (5.2.x) or policy (5.7.x), sisimai calls it ``filtered``: the server judged the
message, not the address.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.deliver.classify import bounce_for_reason
from newsletter.deliver.reasons import (
    RETRY,
    Failure,
    find_command,
    find_reply,
    find_status,
    prefer,
)
from newsletter.deliver.reasons import reason_of as _reason_of
from newsletter.inbox.classify.rhosts import rhost_reason


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """``reason`` (sisimai's names: userunknown, mailboxfull, filtered, onhold, ...),
    ``status`` (the RFC 3463 code believed: the report's or the one in its text; '' when
    none) and ``hard`` (the address is permanently bad)."""

    reason: str
    status: str
    hard: bool


def diagnose(
    status: str,
    text: str,
    *,
    command: str = "",
    action: str = "",
    diagnostic_type: str = "",
    preset: str = "",
    remote_host: str = "",
    recipient: str = "",
) -> Diagnosis:
    """The reason for one failed recipient and whether it is hard.

    ``status``: the report's RFC 3463 code ('' when absent); ``text``: its diagnostic text
    (Diagnostic-Code, or the lines a non-RFC 3464 notice gave); ``command``: the SMTP
    command the refusal answered (CONN, EHLO, HELO, MAIL, RCPT, DATA; '' when the notice
    does not say); ``action``: RFC 3464 Action; ``diagnostic_type``: the Diagnostic-Code
    type (SMTP, X-Unix, ...); ``preset``: a reason the notice's own format gave;
    ``remote_host``, ``recipient``: whose server refused, for the provider's own rules
    (``rhosts``), which come first unless ``preset`` is a reason sisimai keeps.
    """
    in_text = find_status(text)
    reply = find_reply(text, in_text)
    believed = prefer(status.strip(), in_text, reply)
    failure = Failure(
        status=believed,
        diagnostic=text,
        command=command.upper() or find_command(text),
        action=action,
        reply_code=reply,
        diagnostic_type=diagnostic_type,
        preset=preset,
    )
    reason = ""
    if not preset or preset in RETRY:
        reason = rhost_reason(remote_host, recipient, believed, reply, text)
    reason = reason or _reason_of(failure)
    return Diagnosis(reason, believed, bounce_for_reason(reason, f"{believed} {text}") == "hard")


def is_hard(reason: str, codes: str = "") -> bool:
    """Whether ``reason`` is a hard bounce (``bounce_for_reason``); ``codes``: the status
    and text it came with (they matter for notaccept only)."""
    return bounce_for_reason(reason, codes) == "hard"
