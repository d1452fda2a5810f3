"""``doctor --probe-plus``: does the reply mailbox accept plus-addresses?

Reply commands (``papers+unsubscribe-TOKEN@…``) and VERP (``papers+bounce-TOKEN@…``, on by
default with IMAP) need the mailbox to receive mail sent to ``local+tag@domain``. The only
proof is a delivery: one probe message goes through the usual transport to
``local+doctor-NONCE@domain`` and is looked for in IMAP_FOLDER (header search on the nonce)
until ``wait`` seconds have passed, then deleted. Sending is the only side effect, so
``doctor`` runs it only when asked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time

from newsletter.config import Settings
from newsletter.deliver.single import Send, transport_sender
from newsletter.errors import NewsletterError
from newsletter.inbox.imap import Mailbox
from newsletter.links import reply_address_for
from newsletter.ops.doctor import Check
from newsletter.render import notices

PROBE_WAIT = 60.0  # seconds to wait for the probe to arrive
FIX = (
    "make the mailbox accept local+tag@domain (Postfix: recipient_delimiter = +; most hosted"
    " mailboxes do), or set NEWSLETTER_VERP=false and route replies by hand"
)


def probe_address(settings: Settings, nonce: str) -> str:
    """``local+doctor-NONCE@domain`` on the reply mailbox (REPLY_ADDRESS, else FROM)."""
    local, _, domain = reply_address_for(settings.from_address, settings.reply_address).partition(
        "@"
    )
    return f"{local}+doctor-{nonce}@{domain}"


async def check_plus_address(
    settings: Settings,
    *,
    now: dt.datetime,
    send: Send | None = None,
    wait: float = PROBE_WAIT,
    poll: float = 1.0,
) -> Check:
    """Send one probe to a plus-address of the reply mailbox and wait up to ``wait``
    seconds for it in IMAP_FOLDER (polling every ``poll``). "ok" when it arrived (it is
    then deleted), "FAIL" when the server refused it or it never came; "skip" without
    IMAP_HOST."""
    if not settings.imap_host:
        return Check("plus-address", "skip", "IMAP_HOST not set (replies and bounces are not read)")
    nonce = secrets.token_hex(8)
    to = probe_address(settings, nonce)
    probe = notices.build_notice(
        settings,
        to=to,
        subject=f"newsletter doctor: plus-address probe {nonce}",
        body="A probe from `newsletter doctor --probe-plus`; it deletes it on arrival.\n",
        subscriber_id=0,
        now=now,
    )
    started = time.monotonic()
    try:
        await (send or transport_sender(settings))(probe)
    except NewsletterError as exc:
        return Check("plus-address", "FAIL", f"{to} refused: {exc}", FIX)
    try:
        found = await _arrived(settings, nonce, wait, poll)
    except NewsletterError as exc:
        return Check("plus-address", "FAIL", f"reading {settings.imap_folder}: {exc}")
    if not found:
        detail = f"a probe sent to {to} did not reach {settings.imap_folder} within {wait:g}s"
        return Check("plus-address", "FAIL", detail, FIX)
    took = time.monotonic() - started
    return Check("plus-address", "ok", f"{to} reached {settings.imap_folder} in {took:.1f}s")


async def _arrived(settings: Settings, nonce: str, wait: float, poll: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        if await asyncio.to_thread(_take, settings, nonce):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll)


def _take(settings: Settings, nonce: str) -> bool:
    """Whether the probe is in the folder; deletes it when it is."""
    with Mailbox(settings) as mailbox:
        uids = mailbox.search_header("Subject", nonce)
        for uid in uids:
            mailbox.delete(uid)
        return bool(uids)
