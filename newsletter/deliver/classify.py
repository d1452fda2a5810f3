"""SMTP replies -> ledger outcome, what a refusal means, and the retry schedule. Pure.

Outcome of one attempt (``outcome_for``):

2xx to the final dot            -> sent
4xx anywhere                    -> deferred (retried with exponential backoff)
552 to RCPT                     -> deferred (RFC 5321 section 4.5.3.1.10 says treat as 452)
5xx                             -> failed (permanent for this message)
anything else to the final dot  -> unknown (an unreadable or out-of-range reply: the whole
                                   body went out, so the server may have the message)
connection lost before the body -> deferred (the server cannot have accepted the message)
connection lost after the body  -> unknown (it may or may not have been delivered)

What a refusal says, and about whom (``refusal``): the reader's address (``recipient``:
the only scope that may count toward a bounce score), the message itself (``message``:
same for every reader; fails that message), our own setup (``sender``: relay,
authentication, protocol, the receiving system; stops the run) or nothing lasting
(``transient``). Whether a recipient refusal counts as hard or soft for a reader also
depends on the reader's history (``counted_bounce``): one refusal at send time does not
suppress a reader who has received mail before.

Pace (``is_throttle``): the server asks the *sender* to slow down with 421 or 454 anywhere
and with a 4xx at connect, MAIL or DATA; a 4xx at RCPT (greylisting, a full mailbox) is
about that recipient only.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from newsletter.deliver.reasons import Failure, find_reply, find_status, matches, reason_of
from newsletter.models import DeliveryOutcome, SmtpStage

# Where a refusal was seen: an SMTP stage at send time, or a delivery report (RFC 3464 DSN)
RefusalStage = Literal["connect", "mail", "rcpt", "data", "body", "report"]
Scope = Literal["recipient", "message", "sender", "transient"]
BounceKind = Literal["hard", "soft"]

SENDER_THROTTLE_CODES = frozenset({421, 454})
SENDER_STAGES = frozenset({"connect", "mail", "data"})
# RFC 4954: 530 authentication required, 534 mechanism too weak, 535 credentials invalid,
# 538 encryption required; and their enhanced codes 5.7.8, 5.7.9, 5.7.11.
AUTH_CODES = frozenset({530, 534, 535, 538})
AUTH_STATUSES = frozenset({"5.7.8", "5.7.9", "5.7.11"})
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\d)")
# The SMTP command a refusal at each stage answered, in sisimai's terms.
STAGE_COMMANDS: dict[str, str] = {
    "connect": "CONN", "mail": "MAIL", "rcpt": "RCPT", "data": "DATA", "body": "DATA", "report": "",
}  # fmt: skip
# lib/Sisimai/SMTP/Failure.pm is_hardbounce: the reasons that prove the address bad.
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})
NOT_BOUNCES = frozenset({"delivered", "feedback", "vacation"})


def outcome_for(code: int, stage: SmtpStage) -> DeliveryOutcome:
    """What one SMTP reply means for the message it answered.

    After the final dot the whole body is out: only a 2xx (sent), 4xx (deferred) or 5xx
    (failed) reply is an answer; anything else (``-1`` for an unparsable line, 1xx, 3xx,
    600 and above) leaves the message ``unknown`` (RFC 5321 section 4.2.1: replies are
    2yz-5yz).
    """
    answered = 200 <= code < 300 or 400 <= code < 600
    if stage == "body" and not answered:
        return "unknown"
    if 200 <= code < 300:
        return "sent" if stage == "body" else "deferred"
    if code == 552 and stage == "rcpt":
        return "deferred"
    if 400 <= code < 500:
        return "deferred"
    if 500 <= code < 600:
        return "failed"
    return "deferred"


def outcome_for_disconnect(stage: SmtpStage) -> DeliveryOutcome:
    """The connection dropped (or timed out) at ``stage`` without a final reply."""
    return "unknown" if stage == "body" else "deferred"


def is_throttle(code: int | None, stage: SmtpStage | None) -> bool:
    """Whether a reply asks the whole sender to slow down (not just this recipient)."""
    if code is None:
        return False
    if code in SENDER_THROTTLE_CODES:
        return True
    return 400 <= code < 500 and stage in SENDER_STAGES


def enhanced_status(text: str) -> str | None:
    """The RFC 3463 enhanced status code at the start of a reply's text (``5.1.1``)."""
    found = _ENHANCED.match(text or "")
    return ".".join(found.groups()) if found else None


def bounce_for_reason(reason: str, codes: str = "") -> BounceKind | None:
    """Hard or soft for a bounce ``reason`` (sisimai's names; ``newsletter.deliver.reasons``),
    as sisimai decides (lib/Sisimai/SMTP/Failure.pm ``is_hardbounce``): hard for
    ``HARD_REASONS`` (the mailbox or domain does not exist, or has moved) and for
    ``notaccept`` (null MX, RFC 7505) unless ``codes`` (the status and the server's text) say
    the failure was temporary; None for what is not a bounce (delivered, feedback, vacation);
    soft for every other reason (full, filtered, blocked, policy, spam, expired, onhold ...)."""
    if reason in NOT_BOUNCES:
        return None
    if reason in HARD_REASONS:
        return "hard"
    if reason != "notaccept" or not codes.strip():
        return "hard" if reason == "notaccept" else "soft"
    code = find_status(codes) or find_reply(codes)
    if code[:1] == "5":
        return "hard"
    lowered = codes.lower()
    temporary = code[:1] == "4" or " temporar" in lowered or " persistent" in lowered
    return "soft" if temporary else "hard"


@dataclass(frozen=True, slots=True)
class Refusal:
    """What one refusal means.

    ``scope``: recipient | message | sender | transient (see the module docstring).
    ``bounce``: how it may count toward the reader's bounce score before the history rule
    (``counted_bounce``): hard, soft, or None (it says nothing about the reader).
    ``reason``: one line for logs and the ledger.
    """

    scope: Scope
    bounce: BounceKind | None
    reason: str


def refusal(code: int, enhanced: str | None, stage: RefusalStage, text: str) -> Refusal:
    """What a 4xx/5xx reply (``code``, RFC 3463 ``enhanced`` status or None, the reply
    ``text``) at ``stage`` says, and about whom.

    Rules, in order (RFC 5321 section 4.2, RFC 3463, RFC 4954):

    1. Authentication (530, 534, 535, 538; 5.7.8, 5.7.9, 5.7.11) and, at send time,
       relaying refused ("Relay access denied", qmail's "rcpthosts"): ``sender``.
    2. 4xx (and 552 at RCPT, RFC 5321 section 4.5.3.1.10): ``transient``; in a report
       (a DSN that gave up on a temporary failure) it is a soft bounce.
    3. At send time, a 5xx to the greeting or to MAIL: ``sender`` (our address or host).
    4. Enhanced codes: 5.1.x (address; 5.1.7/5.1.8 name the *sender*) and 5.2.x (mailbox)
       are ``recipient``, except 5.2.3 (message too long: ``message``); 5.3.x (mail system)
       and 5.5.x (protocol) are ``sender`` at send time; 5.4.x, 5.6.x, 5.7.x are
       ``message`` (routing, content, policy: nothing proven about the address).
    5. Without an enhanced code (or 5.0.0): 500-504 at send time are ``sender`` (syntax:
       our commands); 550, 551, 553 at RCPT, or a text with one of sisimai's "user unknown"
       phrases, are ``recipient``; anything else is ``message``.

    A ``recipient`` refusal is hard or soft by its reason (``reasons.reason_of`` on the
    status, the text and the command the stage answered), by ``bounce_for_reason``: the
    same rule as for delivery reports. So 5.1.1 "user unknown" at RCPT is hard, 5.2.2
    "mailbox full" and 5.2.1 "account disabled" are soft.
    """
    if not 400 <= code < 600:
        raise ValueError(f"not a refusal: {code}")
    at_send = stage != "report"
    if code in AUTH_CODES or enhanced in AUTH_STATUSES:
        return Refusal("sender", None, "authentication required or refused (RFC 4954)")
    if at_send and matches("norelaying", (text or "").lower()):
        return Refusal("sender", None, "the relay refuses to relay for us")
    if code < 500 or (code == 552 and stage == "rcpt"):
        return Refusal("transient", "soft" if stage == "report" else None, "temporary failure")
    if stage in ("connect", "mail"):
        return Refusal("sender", None, f"the server refused our {stage} (sender or host)")
    subject, detail = _subject_detail(enhanced)
    if subject == 1:
        if detail in (7, 8):
            return Refusal("sender", None, "the sender's address is refused (RFC 3463 5.1.7/8)")
        return _recipient(code, enhanced, stage, text, "the address (RFC 3463 5.1.x)")
    if subject == 2:
        if detail == 3:
            return Refusal("message", None, "the message is too long for the mailbox (5.2.3)")
        return _recipient(code, enhanced, stage, text, "the mailbox (RFC 3463 5.2.x)")
    if subject in (3, 5):
        if at_send:
            return Refusal("sender", None, "the mail system or protocol refused (5.3.x/5.5.x)")
        return Refusal("message", None, "the remote mail system failed (5.3.x/5.5.x)")
    if subject in (4, 6, 7):
        return Refusal("message", None, "routing, content or policy refusal (5.4/5.6/5.7.x)")
    if at_send and 500 <= code <= 504:
        return Refusal("sender", None, "the server did not accept our command (500-504)")
    unknown = matches("userunknown", (text or "").lower())
    if (stage == "rcpt" and code in (550, 551, 553)) or unknown:
        return _recipient(code, enhanced, stage, text, "the address")
    return Refusal("message", None, "the message was refused")


def _recipient(
    code: int, enhanced: str | None, stage: RefusalStage, text: str, about: str
) -> Refusal:
    failure = Failure(enhanced or "", text or "", STAGE_COMMANDS[stage], reply_code=str(code))
    reason = reason_of(failure)
    bounce = bounce_for_reason(reason, f"{enhanced or code} {text}") or "soft"
    return Refusal("recipient", bounce, f"{about} refused it: {reason}")


def _subject_detail(enhanced: str | None) -> tuple[int | None, int | None]:
    if not enhanced:
        return None, None
    _class, subject, detail = (int(part) for part in enhanced.split("."))
    if subject == 0 and detail == 0:
        return None, None
    return subject, detail


def counted_bounce(
    meaning: Refusal,
    *,
    from_report: bool,
    received_before: bool,
    refused_on_another_day: bool,
) -> BounceKind | None:
    """How a refusal counts toward the reader's bounce score (Mailman: a hard bounce reaches
    the threshold, soft ones add up and decay).

    Only ``recipient`` refusals count. A hard one counts as hard when a delivery report
    says so (``from_report``), when the address never received a message from us (a
    typo refused on its first try), or when it was already refused on another day;
    otherwise a single refusal at send time counts as soft: one answer from one server on
    one day is not proof enough to drop a reader who has had mail.
    """
    if meaning.scope != "recipient" or meaning.bounce is None:
        return None
    if meaning.bounce == "soft":
        return "soft"
    if from_report or not received_before or refused_on_another_day:
        return "hard"
    return "soft"


def retry_delay(attempts: int, base: float, cap: float) -> float:
    """Seconds to wait after the ``attempts``-th failed try: base, 2*base, 4*base ... <= cap."""
    exponent = max(attempts - 1, 0)
    return float(min(cap, base * 2.0 ** min(exponent, 30)))


def next_attempt(
    now: dt.datetime,
    first_queued: dt.datetime,
    attempts: int,
    *,
    base: float,
    cap: float,
    give_up_after_hours: float,
) -> dt.datetime | None:
    """When to try again, or ``None`` when the give-up age would be passed."""
    when = now + dt.timedelta(seconds=retry_delay(attempts, base, cap))
    if when - first_queued > dt.timedelta(hours=give_up_after_hours):
        return None
    return when
