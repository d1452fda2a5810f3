"""Helpers for the web tests: the test server's base URL, parsed emails, the store's rows."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message as EmailMessage
from email.policy import default

from newsletter.models import Message, Subscriber
from newsletter.store import subscribers
from newsletter.store.db import Store

BASE = "http://testserver"


def parsed(message: Message) -> EmailMessage:
    return message_from_bytes(message.data, policy=default)


def urls_in(message: Message) -> list[str]:
    body = parsed(message).get_body(("plain",))
    assert body is not None
    return re.findall(r"https?://\S+", body.get_content())


def only_subscriber(store: Store) -> Subscriber:
    with store.begin() as conn:
        rows = subscribers.list_all(conn)
    assert len(rows) == 1, rows
    return rows[0]


def snapshot(store: Store) -> list[Subscriber]:
    with store.begin() as conn:
        return subscribers.list_all(conn)
