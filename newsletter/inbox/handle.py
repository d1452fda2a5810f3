"""One message from the reply mailbox -> changes in the store and the messages to send.

No IMAP here: ``handle(raw, ...)`` takes the message bytes, and ``classify`` (the one
classifier, ``newsletter.inbox.classify``) says what it is:

- ``hard`` / ``soft``: a failure report, scored for the subscriber it provably concerns
  (``bounce_score``); ``warning`` (delayed, relayed, delivered, expanded): recorded, never
  scored.
- ``complaint`` (RFC 5965 ARF, a feedback-loop notice): the reader it provably concerns is
  unsubscribed, and it is recorded.
- ``auto-reply`` (RFC 3834): recorded as ``ignored`` with its signals, never answered; so
  are mailing-list mail and our own.
- ``reply`` (a person) or ``other`` (no usable sender): commands are applied; a reply that
  is not a command is forwarded whole (attached, ``inbox.forward``) to ``OPERATOR_EMAIL``
  (default ``ALERT_EMAIL``), or left
  unread in the mailbox when neither is set; a message with neither a sender nor a token
  raises ``ValueError`` (the caller sets it aside).

A command changes a subscription only when the message proves who sent it: a valid token in
the plus-address it was sent to (``papers+unsubscribe-TOKEN@...``, or the subject), or a
confirmation round-trip (we reply to the subscriber's own address with a one-time confirm
address). The From header alone is never trusted: it is only used to find whom to ask.
Every answer is threaded to the message it answers (In-Reply-To, RFC 5322 §3.6.4).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from sqlalchemy import Connection

from newsletter import addresses
from newsletter.config import Settings
from newsletter.errors import InputError, NotFoundError, TokenError
from newsletter.inbox import bounce_score
from newsletter.inbox.classify import Classification, classify, headers
from newsletter.inbox.classify.autoreply import subject as decoded_subject
from newsletter.inbox.classify.excerpt import excerpt
from newsletter.inbox.commands import Command, parse, plus_token, subject_token
from newsletter.inbox.forward import forward
from newsletter.inbox.message_facts import (
    delivered_to,
    is_list_or_own,
    message_key,
    plain_body,
    report_detail,
    thread_id,
)
from newsletter.links import Links
from newsletter.models import Message, Profile, Subscriber
from newsletter.rank.suggest import did_you_mean
from newsletter.render import Renderer, notices
from newsletter.store import editions, subscribers
from newsletter.store import inbox as events
from newsletter.store.db import Store
from newsletter.store.inbox import (
    BOUNCE,
    COMPLAINT,
    FORWARDED,
    IGNORED,
    LEFT_UNREAD,
    UNPROVEN,
    UNPROVEN_COMPLAINT,
    WARNING,
)
from newsletter.text import one_line
from newsletter.topic_vectors import cache_topics

log = logging.getLogger(__name__)

CONFIRM_MAX_AGE = dt.timedelta(days=7)
# Anyone can forge a From header: a message we cannot verify gets its sender at most one
# reply (help, confirmation, "please confirm") in this time, however many arrive.
UNVERIFIED_REPLY_INTERVAL = dt.timedelta(hours=24)
HELP = (
    "Reply to any email from us with one of these in the subject or the first lines:\n"
    "  unsubscribe\n  topics: first topic; second topic\n  add topic: a topic\n"
    "  remove topic: a topic\n  pause   (or: pause until 2026-12-24)\n  resume\n  help\n"
)
# The event kinds this module records (inbox_events.kind) are defined beside the table, in
# newsletter.store.inbox, so that readers of the table (status, subscribers show) need not
# import the inbox (and with it the renderer and the SMTP client).


@dataclass
class HandledMessage:
    """What handling one incoming message did: its ``kind`` (command, confirm-asked, bounce,
    warning, complaint, ignored, forwarded, left-unread, duplicate), the ``replies`` to send
    (answers, or the forward to the operator), how many subscribers it suppressed or
    unsubscribed, and ``leave_unread`` (keep the message unseen in the mailbox for a person)."""

    kind: str
    replies: list[Message] = field(default_factory=list)
    suppressed: int = 0
    leave_unread: bool = False


@dataclass(frozen=True)
class Handler:
    """Handles one incoming message in one transaction; the messages it returns are sent by
    the caller."""

    store: Store
    settings: Settings
    links: Links
    renderer: Renderer
    now: dt.datetime
    # Topics saved by reply commands of the message being handled: embedded and cached
    # once its transaction is over (``topic_vectors``), so the next run finds them.
    saved_topics: list[str] = field(default_factory=list)

    @property
    def reply_local(self) -> str:
        """The local part of our reply address (``papers`` in ``papers+cmd-TOKEN@d``)."""
        return self.links.reply_address.partition("@")[0]

    def handle(self, raw: bytes) -> HandledMessage:
        """Handle one raw RFC 5322 message once (``message_key``), by what ``classify``
        says it is (see the module docstring). Only ``excerpt(raw)`` is parsed (every header,
        64 KiB of each body); a forward carries ``raw`` whole."""
        self.saved_topics.clear()
        handled = self._handle(raw)
        if self.saved_topics:
            cache_topics(self.store, self.saved_topics, self.now)
            self.saved_topics.clear()
        return handled

    def _handle(self, raw: bytes) -> HandledMessage:
        message = message_from_bytes(excerpt(raw), policy=default)
        key = message_key(message, raw)
        with self.store.begin() as conn:
            if events.seen(conn, key):
                return HandledMessage("duplicate")
            found = classify(message)
            if found.kind in ("hard", "soft"):
                return self._failure(conn, key, found)
            if found.kind == "warning":
                if found.reason == "authfailure":
                    log.warning(
                        "a delivery report says a relay refused our authentication (%s): "
                        "a problem of our SMTP setup, not of the reader's address",
                        found.status or "no status",
                    )
                target, _ = bounce_score.concerned(conn, found, self.links, self.now)
                events.record(
                    conn,
                    key,
                    WARNING,
                    subscriber_id=target.id if target else None,
                    detail=report_detail(found),
                    now=self.now,
                )
                return HandledMessage(WARNING)
            if found.kind == "complaint":
                return self._complaint(conn, key, found)
            if found.kind == "auto-reply" or is_list_or_own(message, self.settings.sender_address):
                detail = {"kind": found.kind, "signals": list(found.signals)}
                events.record(conn, key, IGNORED, subscriber_id=None, detail=detail, now=self.now)
                return HandledMessage(IGNORED)
            return self._commands(conn, key, message, raw)

    # --- failure reports and complaints -------------------------------------------

    def _failure(self, conn: Connection, key: str, found: Classification) -> HandledMessage:
        counted = bounce_score.count(conn, found, self.settings, self.links, self.now)
        detail = report_detail(found)
        detail["proof"] = counted.proof
        sid: int | None = counted.subscriber_id
        kind = BOUNCE
        if sid is None and counted.unproven_subscriber_id is not None:
            sid, kind = counted.unproven_subscriber_id, UNPROVEN
        else:
            detail["scored"] = counted.scored
        events.record(conn, key, kind, subscriber_id=sid, detail=detail, now=self.now)
        return HandledMessage(BOUNCE, suppressed=int(counted.suppressed))

    def _complaint(self, conn: Connection, key: str, found: Classification) -> HandledMessage:
        """RFC 5965: the reader does not want this mail. Unsubscribe them when the report
        provably concerns them (the same proof as a bounce); record it either way."""
        target, proof = bounce_score.concerned(conn, found, self.links, self.now)
        detail: dict[str, Any] = {
            "feedback_type": found.reason,
            "recipients": list(found.recipients),
            "proof": proof,
        }
        if target is None:
            named = bounce_score.named_subscriber(conn, found.recipients)
            events.record(
                conn, key, UNPROVEN_COMPLAINT, subscriber_id=named, detail=detail, now=self.now
            )
            return HandledMessage(COMPLAINT)
        current = subscribers.get(conn, target.id)
        unsubscribed = current.status != "unsubscribed"
        if unsubscribed:
            subscribers.set_status(conn, target.id, "unsubscribed", now=self.now, by="complaint")
        detail["unsubscribed"] = unsubscribed
        events.record(conn, key, COMPLAINT, subscriber_id=target.id, detail=detail, now=self.now)
        log.info("complaint (%s) from subscriber #%s: unsubscribed", found.reason, target.id)
        return HandledMessage(COMPLAINT, suppressed=int(unsubscribed))

    # --- commands -----------------------------------------------------------------

    def _commands(
        self, conn: Connection, key: str, message: EmailMessage, raw: bytes
    ) -> HandledMessage:
        subject = headers.first(message, "Subject")
        body = plain_body(message)
        commands = parse(subject, body)
        proof = self._proof(conn, message, subject)
        sender = addresses.from_header(headers.first(message, "From"))
        answering = thread_id(message)
        if proof is not None:
            sid, token_command, event_id = proof
            try:
                target = subscribers.get(conn, sid)
            except NotFoundError:
                target = None
            if target is not None:
                if event_id is not None:
                    commands = self._asked(conn, sid, event_id)
                elif not commands and token_command in ("unsubscribe", "confirm"):
                    commands = [Command(token_command)]
                if not commands:
                    return self._not_a_command(conn, key, message, raw, sender, sid)
                lines = [self._apply(conn, target, c) for c in commands]
                events.record(
                    conn,
                    key,
                    "command",
                    subscriber_id=sid,
                    detail={"commands": [c.describe() for c in commands]},
                    now=self.now,
                )
                text = "\n".join(lines)
                return HandledMessage("command", [self._reply(target.email, sid, text, answering)])
        if sender is None:
            raise ValueError("no valid From address and no token: cannot tell who wrote")
        known = subscribers.get_by_email(conn, sender)
        if not commands:
            known_id = known.id if known else None
            return self._not_a_command(conn, key, message, raw, sender, known_id)
        events.record(
            conn,
            key,
            "command",
            subscriber_id=known.id if known else None,
            detail={"commands": [c.describe() for c in commands], "verified": False},
            now=self.now,
        )
        to = known.email if known is not None else sender
        if events.replied_since(conn, to, self.now - UNVERIFIED_REPLY_INTERVAL):
            log.info("no reply to an unverified message: %s got one less than a day ago", to)
            return HandledMessage("command")
        events.note_unverified_reply(conn, to, key, self.now)
        if all(c.name == "help" for c in commands):
            sid = known.id if known else 0
            return HandledMessage("command", [self._reply(sender, sid, HELP, answering)])
        if any(c.name == "subscribe" for c in commands) and (
            known is None or known.status not in ("active", "paused")
        ):
            return HandledMessage("command", self._subscribe(conn, sender, known, commands))
        if known is None:
            text = f"{sender} is not subscribed, so there was nothing to change.\nTo subscribe, reply with the word: subscribe\n"
            return HandledMessage("command", [self._reply(sender, 0, text, answering)])
        # A known address without a token: ask the subscriber's own mailbox to confirm.
        event_id = events.record(
            conn,
            f"ask:{key}",
            "ask",
            subscriber_id=known.id,
            detail={"commands": [[c.name, list(c.arguments)] for c in commands]},
            now=self.now,
        )
        confirm_address = self.links.command_address("confirm", known, event_id=event_id)
        text = (
            "We received these commands for your subscription:\n"
            + "".join(f"  {c.describe()}\n" for c in commands)
            + "\nThe message did not come from one of our reply links, so nothing changed yet.\n"
            f"To go ahead, reply (subject: confirm) to: {confirm_address}\n"
            "If you did not send it, ignore this email.\n"
        )
        return HandledMessage(
            "confirm-asked", [self._reply(known.email, known.id, text, answering)]
        )

    def _not_a_command(
        self,
        conn: Connection,
        key: str,
        message: EmailMessage,
        raw: bytes,
        sender: str | None,
        subscriber_id: int | None,
    ) -> HandledMessage:
        """A person wrote something that is not a command: it is for the operator, never
        answered with the help text. Forwarded whole (attached as ``message/rfc822``,
        ``inbox.forward``) to ``settings.operator_address``, or left unread in the mailbox
        when there is none."""
        operator = self.settings.operator_address
        detail = {"from": sender, "subject": one_line(decoded_subject(message), 200)}
        if operator is None:
            events.record(
                conn, key, LEFT_UNREAD, subscriber_id=subscriber_id, detail=detail, now=self.now
            )
            return HandledMessage(LEFT_UNREAD, leave_unread=True)
        forwarded = forward(
            self.settings,
            raw,
            message,
            sender=sender,
            operator=operator,
            subscriber_id=subscriber_id or 0,
            now=self.now,
        )
        events.record(
            conn, key, FORWARDED, subscriber_id=subscriber_id, detail=detail, now=self.now
        )
        return HandledMessage(FORWARDED, [forwarded])

    def _proof(
        self, conn: Connection, message: EmailMessage, subject: str
    ) -> tuple[int, str, int | None] | None:
        """(subscriber id, command named in the token, asked-event id) from a valid token."""
        tokens = [t for a in delivered_to(message) if (t := plus_token(a, self.reply_local))]
        in_subject = subject_token(subject)
        if in_subject:
            tokens.append(("", in_subject))
        for _, token in tokens:
            try:
                target, command, event_id = self.links.reply_for(
                    token, lambda sid: subscribers.find(conn, sid), self.now
                )
            except TokenError:
                continue
            return target.id, command, event_id
        return None

    def _asked(self, conn: Connection, sid: int, event_id: int) -> list[Command]:
        found = events.get(conn, event_id)
        if found is None or found[0] != "ask" or found[1] != sid:
            return []
        if self.now - found[3] > CONFIRM_MAX_AGE or events.seen(conn, f"done:{event_id}"):
            return []
        events.record(
            conn, f"done:{event_id}", "asked-done", subscriber_id=sid, detail=None, now=self.now
        )
        return [Command(str(n), tuple(a)) for n, a in found[2].get("commands", [])]

    def _apply(self, conn: Connection, target: Subscriber, command: Command) -> str:
        sid, now, name = target.id, self.now, command.name
        current = subscribers.get(conn, sid)
        try:
            if name == "unsubscribe":
                if current.status != "unsubscribed":
                    subscribers.set_status(conn, sid, "unsubscribed", now=now, by="reply")
                return "unsubscribe: done. You will not receive any more emails."
            if name in ("subscribe", "confirm"):
                if current.status not in ("active", "paused"):
                    subscribers.set_status(conn, sid, "active", now=now, by="reply")
                    subscribers.update_fields(conn, sid, now=now, bounce_score=0.0)
                return f"{name}: done. You are subscribed."
            if name in ("topics", "add_topic", "remove_topic"):
                topics = _new_topics(current.profile.topics, command)
                subscribers.set_profile(conn, sid, replace(current.profile, topics=topics), now=now)
                self.saved_topics.extend(topics)
                latest = editions.latest(conn)
                hints = did_you_mean(latest.papers if latest else (), command.arguments)
                said = f"{command.describe()}: done. Your topics: {'; '.join(topics) or '(none)'}"
                return " ".join([said, *hints])
            if name == "pause":
                if current.status not in ("active", "paused"):
                    return "pause: not done, the subscription is not active."
                until = dt.date.fromisoformat(command.arguments[0]) if command.arguments else None
                subscribers.update_fields(
                    conn, sid, now=now, by="reply", status="paused", paused_until=until
                )
                return f"pause: done{f' until {until.isoformat()}' if until else ''}. Reply resume to start again."
            if name == "resume":
                if current.status not in ("active", "paused"):
                    return "resume: not done, the subscription is not active."
                subscribers.set_status(conn, sid, "active", now=now, by="reply")
                return "resume: done."
        except (InputError, ValueError) as exc:
            return f"{command.describe()}: not done ({exc})."
        return HELP

    def _subscribe(
        self, conn: Connection, sender: str, known: Subscriber | None, commands: list[Command]
    ) -> list[Message]:
        topics: tuple[str, ...] = ()
        for c in commands:
            if c.name in ("topics", "add_topic"):
                topics += c.arguments
        if known is None:
            known = subscribers.add(
                conn,
                sender,
                now=self.now,
                profile=Profile(topics=subscribers.clean_terms(topics)),
                status="pending",
            )
        confirmation = self.renderer.notice(
            "confirmation",
            known.email,
            subscriber=known,
            context={"topics": known.topics},
            now=self.now,
        )
        return [confirmation]

    def _reply(
        self, to: str, subscriber_id: int, text: str, in_reply_to: str | None = None
    ) -> Message:
        return notices.build_notice(
            self.settings,
            to=to,
            subject=f"Re: your {' '.join(self.settings.list_name.split())} request",
            body=text,
            subscriber_id=subscriber_id,
            now=self.now,
            auto_submitted="auto-replied",
            in_reply_to=in_reply_to,
        )


def _new_topics(current: tuple[str, ...], command: Command) -> tuple[str, ...]:
    if command.name == "topics":
        return subscribers.clean_terms(command.arguments)
    if command.name == "add_topic":
        return subscribers.clean_terms((*current, *command.arguments))
    drop = {a.casefold() for a in command.arguments}
    return tuple(t for t in current if t.casefold() not in drop)
