"""One message from the reply mailbox -> changes in the store and the replies to send.

No IMAP here: ``handle(raw, ...)`` takes the message bytes. A command changes a subscription
only when the message proves who sent it: a valid token in the plus-address it was sent to
(``papers+unsubscribe-TOKEN@...``, or the subject), or a confirmation round-trip (we reply
to the subscriber's own address with a one-time confirm address). The From header alone
is never trusted: it is only used to find whom to ask.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field, replace
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import parseaddr

from sqlalchemy import Connection

from newsletter.config import Settings
from newsletter.errors import InputError, NotFoundError, TokenError
from newsletter.inbox import bounces, dsn
from newsletter.inbox.bounces import recipients
from newsletter.inbox.commands import Command, parse, plus_token, subject_token
from newsletter.links import Links
from newsletter.models import Message, Profile, Subscriber
from newsletter.render import Renderer
from newsletter.store import inbox as events
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.web import notices

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


@dataclass
class Outcome:
    kind: str  # command | confirm-asked | bounce | ignored | duplicate
    replies: list[Message] = field(default_factory=list)
    suppressed: int = 0


@dataclass(frozen=True)
class Handler:
    store: Store
    settings: Settings
    links: Links
    renderer: Renderer
    now: dt.datetime

    @property
    def reply_local(self) -> str:
        return self.links.reply_address.partition("@")[0]

    def handle(self, raw: bytes) -> Outcome:
        message = message_from_bytes(raw, policy=default)
        key = message_key(message, raw)
        with self.store.begin() as conn:
            if events.seen(conn, key):
                return Outcome("duplicate")
            found = bounces.parse(message) if bounces.is_dsn(message) else []
            if found or bounces.is_dsn(message):
                return self._bounces(conn, key, message, found)
            if is_automatic(message, self.settings.sender_address):
                events.record(conn, key, "ignored", subscriber_id=None, detail=None, now=self.now)
                return Outcome("ignored")
            return self._commands(conn, key, message)

    # --- bounces ------------------------------------------------------------------

    def _bounces(
        self, conn: Connection, key: str, message: EmailMessage, found: list[bounces.Bounce]
    ) -> Outcome:
        counted = dsn.count(conn, message, found, self.settings, self.links, self.now)
        detail: dict[str, object] = {"bounces": [[b.recipient, b.status, b.kind] for b in found]}
        if counted.unproven:
            detail["unproven"] = True
        events.record(
            conn, key, "bounce", subscriber_id=counted.subscriber_id, detail=detail, now=self.now
        )
        return Outcome("bounce", suppressed=int(counted.suppressed))

    # --- commands -----------------------------------------------------------------

    def _commands(self, conn: Connection, key: str, message: EmailMessage) -> Outcome:
        subject = str(message.get("Subject", ""))
        body = plain_body(message)
        commands = parse(subject, body)
        proof = self._proof(conn, message, subject)
        sender = normal_address(str(message.get("From", "")))
        if proof is not None:
            sid, token_command, event_id = proof
            try:
                target = subscribers.get(conn, sid)
            except NotFoundError:
                target = None
            if target is not None:
                if event_id is not None:
                    commands = self._asked(conn, sid, event_id)
                elif not commands and token_command:
                    commands = [Command(token_command)]
                lines = [self._apply(conn, target, c) for c in commands] or [
                    "No command found.\n" + HELP
                ]
                events.record(
                    conn,
                    key,
                    "command",
                    subscriber_id=sid,
                    detail={"commands": [c.describe() for c in commands]},
                    now=self.now,
                )
                return Outcome("command", [self._reply(target.email, sid, "\n".join(lines))])
        if sender is None:
            raise ValueError("no valid From address and no token: cannot tell who wrote")
        known = subscribers.get_by_email(conn, sender)
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
            return Outcome("command")
        events.note_unverified_reply(conn, to, key, self.now)
        if not commands or all(c.name == "help" for c in commands):
            return Outcome("command", [self._reply(sender, known.id if known else 0, HELP)])
        if any(c.name == "subscribe" for c in commands) and (
            known is None or known.status not in ("active", "paused")
        ):
            return Outcome("command", self._subscribe(conn, sender, known, commands))
        if known is None:
            text = f"{sender} is not subscribed, so there was nothing to change.\nTo subscribe, reply with the word: subscribe\n"
            return Outcome("command", [self._reply(sender, 0, text)])
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
        return Outcome("confirm-asked", [self._reply(known.email, known.id, text)])

    def _proof(
        self, conn: Connection, message: EmailMessage, subject: str
    ) -> tuple[int, str, int | None] | None:
        """(subscriber id, command named in the token, asked-event id) from a valid token."""
        tokens = [t for a in recipients(message) if (t := plus_token(a, self.reply_local))]
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
                return f"{command.describe()}: done. Your topics: {'; '.join(topics) or '(none)'}"
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

    def _reply(self, to: str, subscriber_id: int, text: str) -> Message:
        return notices.compose(
            self.settings,
            to=to,
            subject=f"Re: your {' '.join(self.settings.list_name.split())} request",
            body=text,
            subscriber_id=subscriber_id,
            now=self.now,
            auto_submitted="auto-replied",
        )


def _new_topics(current: tuple[str, ...], command: Command) -> tuple[str, ...]:
    if command.name == "topics":
        return subscribers.clean_terms(command.arguments)
    if command.name == "add_topic":
        return subscribers.clean_terms((*current, *command.arguments))
    drop = {a.casefold() for a in command.arguments}
    return tuple(t for t in current if t.casefold() not in drop)


def message_key(message: EmailMessage, raw: bytes) -> str:
    message_id = " ".join(str(message.get("Message-ID", "")).split())
    if re.fullmatch(r"<[^<>\s]{1,380}>", message_id):
        return message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def normal_address(header: str) -> str | None:
    _, address = parseaddr(header)
    try:
        return subscribers.normalize_email(address) if address else None
    except InputError:
        return None


def is_automatic(message: EmailMessage, own_address: str) -> bool:
    """Auto-replies, lists and our own mail: never answered (no mail loops)."""
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    sender = parseaddr(str(message.get("From", "")))[1].lower()
    return (
        auto != "no"
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or message.get("X-Autoreply") is not None
        or message.get("List-Id") is not None
        or sender == own_address.lower()
        or sender.startswith(("mailer-daemon@", "postmaster@"))
    )


def plain_body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""
