"""Counting a DSN: at most one bounce, and only for a subscriber it provably concerns.

Proof is a valid VERP token in the address the DSN came back to (``bounces+TOKEN@...``),
or else a quoted Message-ID (in the returned message or its headers) that the ledger
recorded as sent to the listed recipient. Anyone can write a DSN that lists addresses;
only we know the Message-IDs we sent: they are an HMAC under the secret key
(``Links.message_id``), not a hash of the public date and a small id.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import Connection

from newsletter.config import Settings
from newsletter.deliver.classify import BounceKind
from newsletter.errors import InputError, TokenError
from newsletter.inbox import dsn
from newsletter.links import Links
from newsletter.models import Subscriber
from newsletter.store import inbox as events
from newsletter.store import subscribers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counted:
    """What one DSN did: the subscriber it counted against (None: not proven ours),
    whether that suppressed them, and ``unproven`` when it named failures none of which
    were provably ours."""

    subscriber_id: int | None = None
    suppressed: bool = False
    unproven: bool = False  # it reported failures, none of them provably ours


def count(
    conn: Connection,
    message: EmailMessage,
    found: list[dsn.Bounce],
    settings: Settings,
    links: Links,
    now: dt.datetime,
) -> Counted:
    """Score the failures ``found`` in a DSN against the subscriber it provably concerns:
    a valid VERP token (Mailman's VERP), or a recipient we sent a quoted Message-ID to.
    The worst kind (hard first, ``classify.report_bounce``) counts once, with the settings'
    scores (``subscribers.record_bounce``). Runs in the caller's transaction."""
    failures = sorted((b for b in found if b.kind is not None), key=lambda b: b.kind != "hard")
    if not failures:
        return Counted()
    target, kind = _concerned(conn, message, failures, links, now)
    if target is None or kind is None:
        log.info("bounce ignored: no VERP token and no Message-ID we sent to its recipient")
        return Counted(unproven=True)
    suppressed = subscribers.record_bounce(
        conn,
        target.id,
        kind,
        hard_score=settings.bounce_hard_score,
        soft_score=settings.bounce_soft_score,
        threshold=settings.bounce_score_threshold,
        reset_days=settings.bounce_reset_days,
        now=now,
    )
    return Counted(target.id, suppressed)


def _concerned(
    conn: Connection,
    message: EmailMessage,
    failures: list[dsn.Bounce],
    links: Links,
    now: dt.datetime,
) -> tuple[Subscriber | None, BounceKind | None]:
    """The subscriber the DSN is about and the worst failure kind (hard first)."""
    verp = verp_subscriber(conn, message, links, now)
    if verp is not None:
        return verp, failures[0].kind
    quoted = dsn.quoted_message_ids(message)
    for bounce in failures:
        try:
            target = subscribers.get_by_email(conn, bounce.recipient)
        except InputError:
            continue
        if target is not None and events.was_sent(conn, target.id, quoted):
            return target, bounce.kind
    return None, None


def verp_subscriber(
    conn: Connection, message: EmailMessage, links: Links, now: dt.datetime
) -> Subscriber | None:
    """The subscriber a valid VERP token (``bounces+TOKEN@...``) the DSN came back to names."""
    for address in dsn.recipients(message):
        tag = address.rpartition("@")[0].partition("+")[2]
        if not tag:
            continue
        try:
            return links.subscriber_for("bounce", tag, lambda sid: subscribers.find(conn, sid), now)
        except TokenError:
            continue
    return None
