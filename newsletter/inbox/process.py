"""``process_inbox``: read the reply mailbox, apply commands, bounces and complaints, send
replies and forwards.

Each message is handled once: its Message-ID (or a hash) goes into ``inbox_events`` in the
same transaction as its changes, and the message is flagged on the server afterwards.
A message that raises while being read is moved aside and counted; the run goes on.
If the mailbox itself fails part-way (connection lost), reading stops there, the replies
already due are still sent, and the report says so (``mailbox_error``); the next run
picks up the rest.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field

from newsletter.config import Settings
from newsletter.deliver.single import Send, transport_sender
from newsletter.errors import NewsletterError, SourceError
from newsletter.inbox.handle import HandledMessage, Handler
from newsletter.inbox.imap import Mailbox
from newsletter.links import Links
from newsletter.models import Message
from newsletter.render import Renderer
from newsletter.store.db import Store
from newsletter.tokens import Signer
from newsletter.words import plural

log = logging.getLogger(__name__)


@dataclass
class InboxReport:
    """What one reading of the reply mailbox did, by kind, with errors as one-line texts."""

    messages: int = 0
    commands: int = 0
    confirmations_asked: int = 0
    bounces: int = 0
    warnings: int = 0
    complaints: int = 0
    suppressed: int = 0  # bounced or, after a complaint, unsubscribed
    ignored: int = 0
    forwarded: int = 0
    left_unread: int = 0
    duplicates: int = 0
    malformed: int = 0
    replies_sent: int = 0
    replies_failed: int = 0
    errors: list[str] = field(default_factory=list)
    mailbox_error: str | None = None  # the mailbox failed part-way: one line

    def summary(self) -> str:
        """The report as one line for the run's output."""
        failed = f"mailbox failed part-way ({self.mailbox_error}); " if self.mailbox_error else ""
        return failed + (
            f"{plural(self.messages, 'message')}: {plural(self.commands, 'command')}, "
            f"{plural(self.confirmations_asked, 'confirmation')} asked,"
            f" {plural(self.bounces, 'bounce')}, {plural(self.warnings, 'warning')},"
            f" {plural(self.complaints, 'complaint')} "
            f"({self.suppressed} suppressed), {self.ignored} ignored, "
            f"{self.forwarded} forwarded, {self.left_unread} left unread, "
            f"{self.duplicates} already handled, {self.malformed} set aside; "
            f"{plural(self.replies_sent, 'reply', 'replies')} sent"
        )

    def count(self, outcome: HandledMessage) -> None:
        """Count one handled message by its kind."""
        attribute = {
            "command": "commands",
            "confirm-asked": "confirmations_asked",
            "bounce": "bounces",
            "warning": "warnings",
            "complaint": "complaints",
            "ignored": "ignored",
            "forwarded": "forwarded",
            "left-unread": "left_unread",
            "duplicate": "duplicates",
        }[outcome.kind]
        setattr(self, attribute, getattr(self, attribute) + 1)
        self.suppressed += outcome.suppressed


async def process_inbox(
    store: Store,
    settings: Settings,
    *,
    now: dt.datetime,
    signer: Signer,
    send: Send | None = None,
    limit: int = 500,
) -> InboxReport:
    """Handle every new message in IMAP_FOLDER; raises ``SourceError`` if IMAP is unreachable."""
    links = Links.for_settings(settings, signer)
    handler = Handler(store, settings, links, Renderer(settings, links), now)
    report = InboxReport()
    replies = await asyncio.to_thread(_read_mailbox, handler, settings, report, limit)
    send = send or transport_sender(settings)
    for reply in replies:
        try:
            await send(reply)
            report.replies_sent += 1
        except (NewsletterError, OSError) as exc:
            report.replies_failed += 1
            report.errors.append(f"reply to subscriber #{reply.subscriber_id}: {exc}")
            log.error("inbox: could not send a reply: %s", exc)
    log.debug("inbox: %s", report.summary())
    return report


def _read_mailbox(
    handler: Handler, settings: Settings, report: InboxReport, limit: int
) -> list[Message]:
    replies: list[Message] = []
    with Mailbox(settings) as mailbox:
        try:
            _read_all(mailbox, handler, report, limit, replies)
        except SourceError as exc:
            report.mailbox_error = str(exc)
            report.errors.append(f"mailbox failed part-way: {exc}")
            log.error("inbox: mailbox failed part-way, stopped reading: %s", exc)
    return replies


def _read_all(
    mailbox: Mailbox, handler: Handler, report: InboxReport, limit: int, replies: list[Message]
) -> None:
    """Handle each pending message; a ``SourceError`` from the mailbox stops the loop."""
    for uid in mailbox.pending(limit):
        report.messages += 1
        raw = mailbox.fetch(uid)
        try:
            if raw is None:
                raise ValueError("empty FETCH answer")
            outcome = handler.handle(raw)
        except Exception as exc:  # a broken message must not stop the others
            report.malformed += 1
            report.errors.append(f"message UID {uid.decode()}: {type(exc).__name__}: {exc}")
            log.warning("inbox: set aside message UID %s: %s", uid.decode(), exc)
            mailbox.set_aside(uid)
            continue
        report.count(outcome)
        replies.extend(outcome.replies)
        mailbox.mark_done(uid, seen=not outcome.leave_unread)
