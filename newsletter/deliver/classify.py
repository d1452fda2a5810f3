"""SMTP reply codes -> ledger outcome, and the retry schedule. Pure functions, no I/O.

2xx to the final dot            -> sent
4xx anywhere                    -> deferred (retried with exponential backoff)
anything else to the final dot  -> unknown (an unreadable or out-of-range reply: the whole
                                   body went out, so the server may have the message)
421 / 451 / 454                 -> deferred, and the server is throttling: slow the sender
552 to RCPT                     -> deferred (RFC 5321 section 4.5.3.1.10 says treat as 452)
5xx                             -> failed (permanent; counts toward the bounce score)
connection lost before DATA end -> deferred (the server cannot have accepted the message)
connection lost after the dot   -> unknown (it may or may not have been delivered)
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

Outcome = Literal["sent", "deferred", "failed", "unknown"]
Stage = Literal["connect", "mail", "rcpt", "data", "body"]

THROTTLE_CODES = frozenset({421, 451, 454})


def outcome_for(code: int, stage: Stage) -> Outcome:
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


def outcome_for_disconnect(stage: Stage) -> Outcome:
    """The connection dropped (or timed out) at ``stage`` without a final reply."""
    return "unknown" if stage == "body" else "deferred"


def is_throttle(code: int | None) -> bool:
    return code in THROTTLE_CODES


def bounce_kind(code: int | None, text: str) -> Literal["hard", "soft"] | None:
    """How a permanent refusal counts toward the bounce score: 5.7.x (policy, spam) is
    soft, as in the inbox's DSN handling; any other 5xx is hard; the rest not at all."""
    if code is None or not 500 <= code < 600:
        return None
    enhanced = re.match(r"\s*5\.(\d{1,3})\.\d{1,3}\b", text or "")
    return "soft" if enhanced and enhanced.group(1) == "7" else "hard"


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
