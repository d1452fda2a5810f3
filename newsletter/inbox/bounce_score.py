"""Scoring a classified failure report: at most one bounce, and only for a subscriber it
provably concerns.

Proof (issue 15 item 3), in order:

1. A valid VERP token in an address the report came back to (``reply+bounce-TOKEN@...``,
   or the earlier ``bounces+TOKEN@...``; read from To, Delivered-To, Envelope-To,
   Apparently-To, X-Original-To as Mailman does).
2. A Message-ID quoted in the report (the returned message or its headers) that the ledger
   recorded as sent: the bounce counts for the subscriber it was sent to, whatever the
   report's Final-Recipient says (a forward target's address, say), unless the report names
   other subscribers and not that one (no mail system writes that). Our Message-IDs are an
   HMAC under the secret key (``Links.message_id``), so nobody else can compute one.

The addresses a report names (Final-Recipient, Original-Recipient, X-Failed-Recipients, the
ones ``flufl.bounce`` found) prove nothing on their own: anyone can write a report listing
them. A failure that names a current subscriber without proof is ``unproven``: recorded, and
shown by ``status`` with the hint to turn VERP on.

Scores follow Mailman (``subscribers.record_bounce``): a hard bounce adds
``BOUNCE_HARD_SCORE``, which reaches ``BOUNCE_SCORE_THRESHOLD``; soft ones add
``BOUNCE_SOFT_SCORE``, at most once per (UTC) day, as Mailman counts one bounce a day, and the
score starts again from zero when the last bounce is older than ``BOUNCE_RESET_DAYS``.
Warnings (delayed, relayed, delivered, expanded) never reach this module.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection

from newsletter.config import Settings
from newsletter.errors import InputError, TokenError
from newsletter.inbox.classify import Classification
from newsletter.links import Links
from newsletter.models import Subscriber
from newsletter.store import inbox as events
from newsletter.store import subscribers

log = logging.getLogger(__name__)

Proof = Literal["verp", "message-id"]


@dataclass(frozen=True)
class Counted:
    """What one failure report did.

    ``subscriber_id``: whom it counted against (None: not proven ours); ``proof``: verp |
    message-id | None; ``scored``: whether the score changed (a second soft bounce on one day
    does not); ``suppressed``: whether that made the subscriber ``bounced`` just now;
    ``unproven_subscriber_id``: a current subscriber the report names without proof."""

    subscriber_id: int | None = None
    proof: Proof | None = None
    scored: bool = False
    suppressed: bool = False
    unproven_subscriber_id: int | None = None


def count(
    conn: Connection,
    found: Classification,
    settings: Settings,
    links: Links,
    now: dt.datetime,
) -> Counted:
    """Score the failure report ``found`` (kind hard or soft; anything else: ``Counted()``)
    against the subscriber it provably concerns. Runs in the caller's transaction."""
    if found.kind not in ("hard", "soft"):
        return Counted()
    kind: Literal["hard", "soft"] = "hard" if found.kind == "hard" else "soft"
    target, proof = concerned(conn, found, links, now)
    if target is None or proof is None:
        named = named_subscriber(conn, found.recipients)
        log.info("bounce not counted: no VERP token and no Message-ID we sent")
        return Counted(unproven_subscriber_id=named)
    last = events.last_bounce_at(conn, target.id)
    if kind == "soft" and last is not None and last.astimezone(dt.UTC).date() == now.date():
        log.info("soft bounce for subscriber #%s: one already counted today", target.id)
        return Counted(target.id, proof)
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
    return Counted(target.id, proof, True, suppressed)


def concerned(
    conn: Connection, found: Classification, links: Links, now: dt.datetime
) -> tuple[Subscriber | None, Proof | None]:
    """The subscriber a report provably concerns, and the proof: a VERP token, else a
    quoted Message-ID the ledger recorded as sent (to whomever it was sent)."""
    verp = verp_subscriber(conn, found.verp_local_parts, links, now)
    if verp is not None:
        return verp, "verp"
    sid = events.sent_to(conn, found.message_ids)
    target = subscribers.find(conn, sid) if sid is not None else None
    if target is not None and not _names_someone_else(conn, found.recipients, target):
        return target, "message-id"
    return None, None


def _names_someone_else(conn: Connection, named: tuple[str, ...], target: Subscriber) -> bool:
    """Whether a report names other subscribers and not ``target``: it quotes a Message-ID
    sent to one reader about another, which no mail system writes."""
    others = False
    for address in named:
        if address.lower() == target.email.lower():
            return False
        try:
            known = subscribers.get_by_email(conn, address)
        except InputError:
            continue
        others = others or (known is not None and known.id != target.id)
    return others


def verp_subscriber(
    conn: Connection, local_parts: tuple[str, ...], links: Links, now: dt.datetime
) -> Subscriber | None:
    """The subscriber a valid VERP token in one of ``local_parts`` names (None: none)."""
    for local in local_parts:
        token = links.bounce_token(local)
        if token is None:
            continue
        try:
            return links.subscriber_for(
                "bounce", token, lambda sid: subscribers.find(conn, sid), now
            )
        except TokenError:
            continue
    return None


def named_subscriber(conn: Connection, addresses: tuple[str, ...]) -> int | None:
    """The first current subscriber among the addresses a report names."""
    for address in addresses:
        try:
            known = subscribers.get_by_email(conn, address)
        except InputError:
            continue
        if known is not None and known.status in ("active", "paused", "pending"):
            return known.id
    return None
