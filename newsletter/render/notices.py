"""The emails the web app and the reply mailbox send besides the digest.

The lifecycle emails (``welcome`` after confirming, ``goodbye`` after unsubscribing) come
from their templates through ``Renderer.notice``, HTML and text; the confirmation too
(``Renderer.notice("confirmation")``). The short replies (``already_subscribed``, the
mailbox's answers) are text only (``build_notice``). All of them go through the one
message builder, ``render.mime.build_message``.

Pure: builds a ``Message`` from fixed subjects and our own text, through the one message
builder (``render.mime.build_message``). Subscriber text only ever reaches the body; headers
carry the normalised address and fixed strings (no CR/LF injection).
"""

from __future__ import annotations

import datetime as dt
from email.utils import make_msgid, parseaddr

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Message, Subscriber
from newsletter.render.mime import address, build_message, sender_address
from newsletter.render.renderer import Renderer
from newsletter.text import one_line


def build_notice(
    settings: Settings,
    *,
    to: str,
    subject: str,
    body: str,
    subscriber_id: int,
    now: dt.datetime,
    auto_submitted: str = "auto-generated",
    in_reply_to: str | None = None,
    reply_to: str | None = None,
) -> Message:
    """One text/plain message (``mime.build_message``); ``to`` must be a normalised address,
    ``subject`` our own text; ``in_reply_to`` a Message-ID we answer (RFC 5322 §3.6.4).
    ``auto_submitted``: RFC 3834 §5 (never answered by auto-responders). ``reply_to``: a
    plain address answers should go to (default ``REPLY_ADDRESS`` when set).
    Raises ``ValueError`` for a line break in ``to`` or ``subject``."""
    if any(c in to + subject for c in "\r\n"):
        raise ValueError("line break in a header value")
    sender = parseaddr(settings.from_address)[1]
    domain = sender.rpartition("@")[2] or "localhost"
    message_id = make_msgid(domain=domain)
    extra = {"Auto-Submitted": auto_submitted}
    if in_reply_to:
        extra["In-Reply-To"] = in_reply_to
        extra["References"] = in_reply_to
    if reply_to and not any(c in reply_to for c in "\r\n<>,") and "@" in reply_to:
        extra["Reply-To"] = reply_to
    elif settings.reply_address:
        extra["Reply-To"] = settings.reply_address
    data = build_message(
        sender=sender_address(settings.from_address),
        to=address(to),
        subject=subject,
        msg_id=message_id,
        date=now,
        text=body,
        extra_headers=extra,
    )
    return Message(
        subscriber_id=subscriber_id,
        to=to,
        sender=sender,
        message_id=message_id,
        subject=subject,
        data=data,
        text=body,
    )


def already_subscribed(
    settings: Settings, links: Links, subscriber: Subscriber, *, now: dt.datetime
) -> Message:
    """Answer to a repeated sign-up: nothing changes, here are the management links."""
    body = (
        f"Someone asked to subscribe {subscriber.email} to {settings.list_name}, "
        "and this address is already subscribed. Nothing was changed.\n"
        "\n"
        f"Change your topics or pause: {links.preferences(subscriber)}\n"
        f"Unsubscribe: {links.unsubscribe(subscriber)}\n"
    )
    return build_notice(
        settings,
        to=subscriber.email,
        subject=f"You are already subscribed to {one_line(settings.list_name)}",
        body=body,
        subscriber_id=subscriber.id,
        now=now,
    )


def welcome(renderer: Renderer, subscriber: Subscriber, *, now: dt.datetime) -> Message:
    """The welcome after confirming: the reader's topics, how to change them (preferences
    link, reply commands), and the list's unsubscribe headers (RFC 8058)."""
    return renderer.notice(
        "welcome",
        subscriber.email,
        subscriber=subscriber,
        context={"topics": subscriber.topics},
        now=now,
    )


def goodbye(renderer: Renderer, subscriber: Subscriber, *, now: dt.datetime) -> Message:
    """The goodbye after unsubscribing, with a "subscribe again" link valid 30 days from
    ``now`` (``Links.resubscribe``) that keeps the reader's topics."""
    return renderer.notice(
        "goodbye",
        subscriber.email,
        subscriber=subscriber,
        context={"topics": subscriber.topics},
        now=now,
    )
