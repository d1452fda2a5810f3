"""Local delivery: a real Maildir under ``OUTBOX_DIR`` plus a browsable HTML copy.

``<outbox>/{tmp,new,cur}`` is a Maildir any mail client can open;
``<outbox>/html/<date>-<email>.html`` is the HTML part, to open in a browser (``<date>``:
the edition's, for a digest).

Delivery follows the Maildir protocol (https://cr.yp.to/proto/maildir.html): the message
is written to ``tmp/<unique>``, synced, and (once the ``on_data`` hook agreed) linked into
``new/``; a write that fails (disk full, file too large) removes its ``tmp/`` file and the
message is ``deferred``.
Once the message is in ``new/`` it is delivered: it is ``sent`` whatever happens to the
HTML copy (a failed copy is logged and named in the result's text).
"""

from __future__ import annotations

import email
import email.policy
import itertools
import logging
import os
import re
import socket
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType

from newsletter.deliver.dkim import DkimSigner
from newsletter.errors import DeliveryError
from newsletter.files import PUBLIC, write_atomic
from newsletter.models import NOT_OWNED, DataHook, Message, SendResult

log = logging.getLogger(__name__)


def html_copy_name(message: Message) -> str:
    """``2024-05-01-ada@example.org.html``: the edition's date (for a digest; otherwise
    the date of the Date header) and a safe address."""
    if message.edition_date is not None:
        date = message.edition_date.isoformat()
    else:
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
    """The text/html part of ``message`` decoded to text (empty when it has none)."""
    if message.html:
        return message.html
    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    body = parsed.get_body(("html",))
    return str(body.get_content()) if body is not None else ""


_SEQUENCE = itertools.count(1)


def unique_name() -> str:
    """``<seconds>.M<microseconds>P<pid>Q<n>.<host>``: unique per delivery on this host."""
    now = time.time()
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
    return f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(_SEQUENCE)}.{host}"


def write_tmp(outbox: Path, data: bytes) -> str:
    """Write ``data`` to ``tmp/<unique>`` and sync it; the file's name. Raises ``OSError``
    with nothing left behind."""
    name = unique_name()
    tmp = outbox / "tmp" / name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return name


def publish(outbox: Path, name: str) -> None:
    """Move ``tmp/<name>`` into ``new/``: delivered. Raises ``OSError``; either way the
    ``tmp/`` file is gone afterwards."""
    tmp, new = outbox / "tmp" / name, outbox / "new" / name
    try:
        try:
            os.link(tmp, new)
        except PermissionError:  # a filesystem without hard links
            os.rename(tmp, new)
    finally:
        tmp.unlink(missing_ok=True)


class MaildirTransport:
    """A ``Transport`` that writes each message into a local Maildir (``tmp/`` then
    ``new/``), DKIM-signed when a signer is given: for demos, previews and tests."""

    def __init__(self, outbox: Path, signer: DkimSigner | None = None) -> None:
        self.outbox = outbox
        self.html_dir = outbox / "html"
        self.signer = signer
        self._open = False

    async def __aenter__(self) -> MaildirTransport:
        try:
            for sub in ("tmp", "new", "cur", "html"):
                (self.outbox / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(str(self.outbox), f"cannot create the outbox: {exc}") from None
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False

    async def send(
        self, message: Message, *, on_data: DataHook | None = None, then: Message | None = None
    ) -> SendResult:
        """Write ``message`` to ``new/``; ``on_data`` is awaited between ``tmp/`` and ``new/``
        (``then`` changes nothing here)."""
        if not self._open:
            raise RuntimeError("MaildirTransport used outside 'async with'")
        data = self.signer.sign(message.data) if self.signer else message.data
        try:
            key = write_tmp(self.outbox, data)
        except OSError as exc:
            return SendResult("deferred", None, f"maildir write failed: {exc}")
        if on_data is not None and not await on_data():
            (self.outbox / "tmp" / key).unlink(missing_ok=True)
            return SendResult("deferred", None, NOT_OWNED)
        try:
            publish(self.outbox, key)
        except OSError as exc:
            return SendResult("deferred", None, f"maildir write failed: {exc}")
        log.debug("maildir: %s -> %s", message.to, key)
        return SendResult("sent", 250, f"maildir {key}{self._html_copy(message)}")

    def _html_copy(self, message: Message) -> str:
        """Write the browsable copy; "" when written (or none), else a note for the result."""
        try:
            html = html_part(message)
            if html:
                write_atomic(self.html_dir / html_copy_name(message), html, mode=PUBLIC)
        except OSError as exc:
            log.warning("maildir: HTML copy for %s not written: %s", message.to, exc)
            return f" (HTML copy not written: {exc.strerror or exc})"
        return ""
