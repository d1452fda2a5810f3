"""Local delivery: a real Maildir under ``OUTBOX_DIR`` plus a browsable HTML copy.

``<outbox>/{tmp,new,cur}`` is a Maildir any mail client can open;
``<outbox>/html/<date>-<email>.html`` is the HTML part, to open in a browser.
"""

from __future__ import annotations

import email
import email.policy
import logging
import mailbox
import re
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType

from newsletter.deliver.dkim import DkimSigner
from newsletter.deliver.result import DataHook, SendResult
from newsletter.errors import DeliveryError
from newsletter.files import write_atomic
from newsletter.models import Message

log = logging.getLogger(__name__)


def html_copy_name(message: Message) -> str:
    """``2024-05-01-ada@example.org.html``: the date of the Date header and a safe address."""
    headers = email.message_from_bytes(message.data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
    try:
        date = parsedate_to_datetime(str(headers["Date"])).date().isoformat()
    except (TypeError, ValueError):
        date = "undated"
    safe = (
        re.sub(r"[^A-Za-z0-9@._+-]", "_", message.to)[:200] or f"subscriber-{message.subscriber_id}"
    )
    return f"{date}-{safe}.html"


def html_part(message: Message) -> str:
    if message.html:
        return message.html
    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    body = parsed.get_body(("html",))
    return str(body.get_content()) if body is not None else ""


class MaildirTransport:
    def __init__(self, outbox: Path, signer: DkimSigner | None = None) -> None:
        self.outbox = outbox
        self.html_dir = outbox / "html"
        self.signer = signer
        self._box: mailbox.Maildir | None = None

    async def __aenter__(self) -> MaildirTransport:
        try:
            for sub in ("tmp", "new", "cur", "html"):
                (self.outbox / sub).mkdir(parents=True, exist_ok=True)
            self._box = mailbox.Maildir(self.outbox, create=False)
        except OSError as exc:
            raise DeliveryError(str(self.outbox), f"cannot create the outbox: {exc}") from None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._box = None

    async def send(self, message: Message, *, on_data: DataHook | None = None) -> SendResult:
        if self._box is None:
            raise RuntimeError("MaildirTransport used outside 'async with'")
        data = self.signer.sign(message.data) if self.signer else message.data
        if on_data is not None:
            await on_data()
        try:
            key = self._box.add(mailbox.MaildirMessage(data))
            html = html_part(message)
            if html:
                write_atomic(self.html_dir / html_copy_name(message), html)
        except OSError as exc:
            return SendResult("deferred", None, f"maildir write failed: {exc}")
        log.debug("maildir: %s -> %s", message.to, key)
        return SendResult("sent", 250, f"maildir {key}")
