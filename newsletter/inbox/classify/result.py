"""What the classifier says of one message: ``Classification`` and its ``RecipientResult``s,
the kinds, and the two helpers every branch uses (``unique``, ``rank``). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["hard", "soft", "warning", "complaint", "auto-reply", "reply", "other"]
RecipientKind = Literal["hard", "soft", "warning"]
KINDS: tuple[Kind, ...] = ("hard", "soft", "warning", "complaint", "auto-reply", "reply", "other")
FAILURE_KINDS = frozenset({"hard", "soft"})


@dataclass(frozen=True, slots=True)
class RecipientResult:
    """One reported recipient: ``recipient`` (Final-Recipient, or the failed address of a
    non-RFC 3464 notice), ``original_recipient`` (RFC 3464 Original-Recipient, '' when
    absent), ``action`` (failed | delayed | delivered | relayed | expanded | ''),
    ``status`` (RFC 3463), ``reason`` and ``kind``: hard | soft | warning (never scored)."""

    recipient: str
    original_recipient: str
    action: str
    status: str
    reason: str
    kind: RecipientKind


@dataclass(frozen=True, slots=True)
class Classification:
    """What one message is.

    ``kind``: hard | soft | warning | complaint | auto-reply | reply | other.
    ``recipients``: the failed (or reported) addresses: Final-Recipient, Original-Recipient,
    X-Failed-Recipients, the addresses ``flufl.bounce`` found, an ARF report's
    Original-Rcpt-To; lower case, in order, no duplicates.
    ``status``: the RFC 3463 code of the worst failure ('' when none is known).
    ``reason``: sisimai's name for it (userunknown, mailboxfull, ...; feedback-type for a
    complaint; '' when none).
    ``action``: the RFC 3464 Action of that recipient ('' for non-RFC 3464 notices).
    ``message_ids``: Message-IDs of the returned message (to prove it was ours).
    ``verp_local_parts``: local parts of To / Delivered-To / Envelope-To / Apparently-To /
    X-Original-To that carry a ``+tag`` (where a VERP token travels).
    ``signals``: the RFC 3834 auto-reply signals seen.
    ``per_recipient``: each reported recipient with its own status, reason and kind (a report
    may list a hard and a soft failure); empty for complaints, auto-replies and replies.
    """

    kind: Kind
    recipients: tuple[str, ...] = ()
    status: str = ""
    reason: str = ""
    action: str = ""
    message_ids: tuple[str, ...] = ()
    verp_local_parts: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    per_recipient: tuple[RecipientResult, ...] = ()

    @property
    def is_failure(self) -> bool:
        """Whether ``kind`` is a failure (``FAILURE_KINDS``: hard or soft)."""
        return self.kind in FAILURE_KINDS


def unique(addresses: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Addresses lower-cased and stripped, in order, once each; what holds no ``@`` is left out."""
    return tuple(dict.fromkeys(a.strip().lower() for a in addresses if a and "@" in a))


def rank(kind: str) -> int:
    """How bad a recipient's kind is: 0 hard, 1 soft, 2 warning (a report is its worst)."""
    return ("hard", "soft", "warning").index(kind)
