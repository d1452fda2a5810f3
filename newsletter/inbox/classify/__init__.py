"""One classifier for every message that reaches the reply mailbox. Pure: no I/O.

``classify(message) -> Classification``, in this order:

1. ``complaint``: an RFC 5965 feedback report (``message/feedback-report``), or a
   feedback-loop notice with the complained-about message attached.
2. An Amazon SES notification (JSON, ``ses``): bounce, complaint or delivery.
3. An RFC 3464 report (``message/delivery-status``, outside the returned message): ``hard``
   when a failed recipient's reason is about the address itself, ``soft`` for any other
   failure; ``warning`` when nothing failed (``Action: delayed | relayed | delivered |
   expanded``: recorded, never scored).
4. A delay warning in text form (``notice.is_delay_warning``: Exim's "has not yet been
   delivered", Sendmail's "Warning: could not send message for past N hours", Postfix's
   "Delayed Mail", Exchange's "Delivery delayed"): ``warning``, never scored.
5. Any other delivery failure notice (``flufl.bounce`` and the notice's own text): hard or
   soft the same way; a failure with no reason found (sisimai's onhold) is soft. A notice no
   sender-and-subject rule knows is one by the generic rules (``notice``: a null or
   MAILER-DAEMON sender, an SMTP transcript); a mail system's message that clearly is no
   failure is a ``warning`` (a delay) or ``other``, never a ``reply``.
6. ``auto-reply``: RFC 3834 signals (``autoreply.auto_reply_signals``).
7. ``reply``: a message from a person; ``other``: no usable sender.

A report is as bad as its worst recipient (hard, then soft, then warning);
``Classification.per_recipient`` keeps each one.

Reasons: sisimai's model (``reasons.diagnose``: ``newsletter.deliver.reasons`` with what a
notice format says itself, ``lhosts`` and ``lhosts_text``, and the providers' rules,
``rhosts``); hard or soft:
``newsletter.deliver.classify.bounce_for_reason``, the rule send-time refusals use too.
"""

from __future__ import annotations

from dataclasses import replace
from email.message import Message
from email.utils import getaddresses, parseaddr

from newsletter.deliver.classify import AUTH_CODES, AUTH_STATUSES
from newsletter.deliver.reasons import find_reply, find_status
from newsletter.inbox.classify import (
    headers,
    lhosts,
    lhosts_text,
    notice,
    plaintext,
    reports,
    rhosts,
)
from newsletter.inbox.classify.autoreply import auto_reply_signals
from newsletter.inbox.classify.reasons import Diagnosis, diagnose
from newsletter.inbox.classify.result import (
    KINDS,
    Classification,
    Kind,
    RecipientKind,
    RecipientResult,
    rank,
    unique,
)
from newsletter.inbox.classify.ses import ses_notification, ses_result

# Mailman reads VERP addresses from these headers (Mailman's VERP runner).
VERP_HEADERS = ("To", "Delivered-To", "Envelope-To", "Apparently-To", "X-Original-To")

__all__ = ["KINDS", "Classification", "Kind", "RecipientResult", "classify"]


def classify(message: Message) -> Classification:
    """Classify one message (parsed by the ``email`` package; any policy)."""
    text = plaintext.human_text(message)
    signals = auto_reply_signals(message)
    found = _kind_of(message, text, signals)
    return replace(
        found,
        message_ids=reports.quoted_message_ids(message, text),
        verp_local_parts=verp_local_parts(message),
        signals=signals,
    )


def _kind_of(message: Message, text: str, signals: tuple[str, ...]) -> Classification:
    feedback = reports.feedback_report(message)
    if feedback is not None or reports.is_complaint_notice(message):
        named = (feedback.recipients if feedback else ()) or _returned_recipients(message)
        feedback_type = feedback.feedback_type if feedback else ""
        return Classification("complaint", unique(named), reason=feedback_type or "abuse")
    notification = ses_notification(text)
    if notification is not None:
        return ses_result(notification)
    command = plaintext.smtp_command(text)
    statuses = reports.delivery_statuses(message)
    if statuses:
        return _from_report(message, statuses, text, command)
    temporary, permanent = plaintext.failed_addresses(message)
    if notice.is_delay_warning(message, text):
        found = notice.not_ours(message, text, [*sorted(permanent), *sorted(temporary)])
        return _delayed(text, unique(found) or unique(notice.notice_recipients(message, text)))
    if plaintext.looks_like_bounce(message, len(temporary) + len(permanent)):
        found = notice.not_ours(message, text, [*sorted(permanent), *sorted(temporary)])
        return _from_notice(message, text, command, unique(found))
    if notice.is_failure_notice(message, text):
        return _from_notice(message, text, command, ())
    if notice.from_mail_system(message):
        return Classification(notice.clearly_not_a_failure(text) or "other", ())
    sender = _sender(message)
    if signals:
        return Classification("auto-reply", sender)
    return Classification("reply" if sender else "other", sender)


def _from_notice(
    message: Message, text: str, command: str, failed: tuple[str, ...]
) -> Classification:
    """A failure notice without a delivery-status part: the refusals of its SMTP transcript,
    else the lines that carry a reply code; the failed addresses ``failed`` (flufl.bounce,
    X-Failed-Recipients), else those the notice's text names (``notice.notice_recipients``)."""
    refused = notice.transcript(text)
    failed = failed or unique(notice.notice_recipients(message, text))
    if refused:
        results: list[RecipientResult] = []
        for refusal in refused:
            found = _diagnose(
                message, text, "", refusal.reply, refusal.command, "", "",
                (refusal.recipient or (failed[:1] or ("",))[0],),
            )  # fmt: skip
            kind, found = _judged(found, refusal.reply)
            names = (refusal.recipient,) if refusal.recipient else failed
            results.extend(
                RecipientResult(a.lower(), "", "failed", found.status, found.reason, kind)
                for a in names
            )
            if not names:
                results.append(RecipientResult("", "", "failed", found.status, found.reason, kind))
        worst = min(results, key=lambda r: rank(r.kind))
        named = unique([*failed, *(r.recipient for r in results)])
        return Classification(
            worst.kind, named, worst.status, worst.reason, per_recipient=tuple(
                r for r in results if r.recipient
            )
        )  # fmt: skip
    detail = plaintext.diagnostic_lines(text) or " ".join(text.split())[:500]
    found = _diagnose(message, text, "", detail, command, "", "", failed[:1])
    kind, found = _judged(found, detail)
    each = tuple(RecipientResult(a, "", "", found.status, found.reason, kind) for a in failed)
    return Classification(kind, failed, found.status, found.reason, per_recipient=each)


def _judged(found: Diagnosis, detail: str) -> tuple[RecipientKind, Diagnosis]:
    """Hard or soft by ``found``; a ``warning`` (recorded, never scored) with reason
    authfailure when the refusal is about our own setup: a relay or smarthost refused our
    authentication (RFC 4954 reply codes 530, 534, 535, 538; or its enhanced codes 5.7.8,
    5.7.9, 5.7.11 with a text that speaks of authentication: servers also give 5.7.9 to
    policy refusals). Send-time refusals use the same codes (``deliver.classify``)."""
    reply = find_reply(detail, found.status)
    said_auth = found.status in AUTH_STATUSES and "auth" in detail.lower()
    if (reply.isdigit() and int(reply) in AUTH_CODES) or said_auth:
        return "warning", replace(found, reason="authfailure", hard=False)
    return ("hard" if found.hard else "soft"), found


def _delayed(text: str, named: tuple[str, ...]) -> Classification:
    """A delay warning in text form: recorded, never scored; the status its text quotes."""
    status = find_status(plaintext.diagnostic_lines(text))
    each = tuple(RecipientResult(a, "", "delayed", status, "delayed", "warning") for a in named)
    return Classification("warning", named, status, "delayed", "delayed", per_recipient=each)


def _from_report(
    message: Message, statuses: list[reports.RecipientStatus], text: str, command: str
) -> Classification:
    each: list[RecipientResult] = []
    worst: RecipientResult | None = None
    for entry in statuses:
        failed = entry.action == "failed" or (not entry.action and entry.status[:1] in "45")
        if failed:
            detail = entry.diagnostic or plaintext.diagnostic_lines(text)
            detail = plaintext.quoting_paragraph(text, detail) or detail
            found = _diagnose(
                message,
                text,
                entry.status,
                detail,
                command,
                entry.action,
                entry.diagnostic_type,
                (entry.final_recipient, entry.remote_mta),
            )
            kind, found = _judged(found, detail)
            status, reason = found.status, found.reason
        else:
            kind, status = "warning", entry.status
            reason = "delivered" if entry.action == "delivered" else (entry.action or "delayed")
        result = RecipientResult(
            entry.final_recipient or entry.original_recipient,
            entry.original_recipient,
            entry.action,
            status,
            reason,
            kind,
        )
        each.append(result)
        if worst is None or rank(result.kind) < rank(worst.kind):
            worst = result
    assert worst is not None
    scored = [r for r in each if r.kind != "warning"] or each
    named = unique([a for r in scored for a in (r.recipient, r.original_recipient)])
    return Classification(
        worst.kind, named, worst.status, worst.reason, worst.action, per_recipient=tuple(each)
    )


def _diagnose(
    message: Message,
    text: str,
    status: str,
    detail: str,
    command: str,
    action: str,
    kind: str,
    where: tuple[str, ...],
) -> Diagnosis:
    """``diagnose`` with what the notice's own format says (``lhosts.hints``, else
    ``lhosts_text.hints``) first.
    ``where``: (recipient, remote host), either may be missing or ''."""
    said = lhosts.hints(message, text, detail, status, command)
    if said == lhosts.Hints():
        said = lhosts_text.hints(message, text) or said
    recipient = where[0] if where else ""
    remote = (where[1] if len(where) > 1 else "") or rhosts.named_host(text)
    return diagnose(
        said.status or status,
        said.diagnostic or detail,
        command=said.command or command,
        action=action,
        diagnostic_type=kind,
        preset=said.reason,
        remote_host=remote,
        recipient=recipient,
    )


def verp_local_parts(message: Message) -> tuple[str, ...]:
    """Local parts with a ``+tag`` in the headers Mailman reads VERP addresses from."""
    values = [v for name in VERP_HEADERS for v in headers.values(message, name)]
    found = [addr.rpartition("@")[0] for _, addr in getaddresses(values) if "@" in addr]
    return tuple(dict.fromkeys(local for local in found if "+" in local))


def _returned_recipients(message: Message) -> list[str]:
    return [
        addr
        for returned in reports.returned_headers(message)
        for _, addr in getaddresses(headers.values(returned, "To"))
        if "@" in addr
    ]


def _sender(message: Message) -> tuple[str, ...]:
    address = parseaddr(headers.first(message, "Reply-To") or headers.first(message, "From"))[1]
    return (address.lower(),) if "@" in address else ()
