"""The reply mailbox over IMAP (stdlib ``imaplib``; callers run it in a thread).

A handled message gets the keyword ``NewsletterDone`` (and ``\\Seen``, unless it is left for
a person to read), so it is skipped next time even if the database was lost; a message that cannot be read is moved to
IMAP_QUARANTINE_FOLDER for a person to look at.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from types import TracebackType
from typing import Any

from newsletter.config import Settings
from newsletter.errors import SettingsError, SourceError

log = logging.getLogger(__name__)

DONE = "NewsletterDone"


class Mailbox:
    """The reply mailbox over IMAP4 (implicit TLS or STARTTLS per IMAP_SECURITY, with
    certificate checks): lists unseen messages, fetches them, marks them done or sets them
    aside. Raises ``SourceError`` when the server cannot be reached or refuses."""

    def __init__(self, settings: Settings) -> None:
        if not settings.imap_host:
            raise SettingsError("NEWSLETTER_IMAP_HOST", "not set")
        self.settings = settings
        self._imap: imaplib.IMAP4 | None = None

    def __enter__(self) -> Mailbox:
        s = self.settings
        port = s.imap_port or (993 if s.imap_security == "tls" else 143)
        host = s.imap_host or ""
        try:
            if s.imap_security == "tls":
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    host, port, ssl_context=ssl.create_default_context(), timeout=30
                )
            else:
                imap = imaplib.IMAP4(host, port, timeout=30)
                if s.imap_security == "starttls":
                    imap.starttls(ssl.create_default_context())
            password = s.imap_password.get_secret_value() if s.imap_password else ""
            imap.login(s.imap_username or "", password)
            status, _ = imap.select(_quote(s.imap_folder))
            if status != "OK":
                raise SourceError("imap", f"cannot open folder {s.imap_folder!r}")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise SourceError("imap", f"{host}:{port}: {exc}") from None
        self._imap = imap
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._imap is not None:
            try:
                self._imap.close()
                self._imap.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
            self._imap = None

    @property
    def imap(self) -> imaplib.IMAP4:
        """The open IMAP connection; ``SourceError`` outside ``with``."""
        assert self._imap is not None, "use Mailbox in a with block"
        return self._imap

    def _command(self, name: str, *args: str) -> tuple[str, list[Any]]:
        """One IMAP command; a dropped connection or a protocol error is a ``SourceError``."""
        try:
            if name == "CREATE":
                status, data = self.imap.create(*args)
            else:
                status, data = self.imap.uid(name, *args)
        except (OSError, imaplib.IMAP4.error) as exc:
            line = " ".join(str(exc).split()) or type(exc).__name__
            raise SourceError("imap", f"{name} failed: {line}") from None
        return status, list(data or [])

    def pending(self, limit: int = 500) -> list[bytes]:
        """UIDs of messages not handled yet, oldest first."""
        status, data = self._command("SEARCH", "UNKEYWORD", DONE, "UNDELETED")
        if status != "OK" or not data or not data[0]:
            return []
        return list(data[0].split())[:limit]

    def fetch(self, uid: bytes) -> bytes | None:
        """The raw RFC 5322 bytes of message ``uid``, or None when the server gives nothing."""
        status, parts = self._command("FETCH", uid.decode(), "(BODY.PEEK[])")
        if status != "OK":
            return None
        for part in parts:
            if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
                return part[1]
        return None

    def mark_done(self, uid: bytes, *, seen: bool = True) -> None:
        """Mark message ``uid`` handled, so it is not read again; ``seen=False`` leaves it
        unread for a person (a reply that is not a command, with no operator to forward to)."""
        flags = f"(\\Seen {DONE})" if seen else f"({DONE})"
        self._command("STORE", uid.decode(), "+FLAGS", flags)

    def search_header(self, name: str, text: str) -> list[bytes]:
        """UIDs of messages whose header ``name`` contains ``text`` (RFC 3501 SEARCH HEADER;
        ``text`` must be plain ASCII without quotes)."""
        if not text.isascii() or any(c in text for c in '"\\\r\n'):
            raise ValueError(f"not a plain search text: {text!r}")
        status, data = self._command("SEARCH", "HEADER", name, f'"{text}"')
        if status != "OK" or not data or not data[0]:
            return []
        return list(data[0].split())

    def delete(self, uid: bytes) -> None:
        """Delete message ``uid`` (flag ``\\Deleted`` and expunge)."""
        self._command("STORE", uid.decode(), "+FLAGS", "(\\Deleted)")
        try:
            self.imap.expunge()
        except (OSError, imaplib.IMAP4.error) as exc:
            raise SourceError("imap", f"EXPUNGE failed: {exc}") from None

    def set_aside(self, uid: bytes) -> None:
        """Keep message ``uid`` out of the way (it could not be handled) for a person to look at."""
        folder = _quote(self.settings.imap_quarantine_folder)
        self._command("CREATE", folder)  # "already exists" is a NO: harmless
        capabilities = getattr(self.imap, "capabilities", ())
        if "MOVE" in capabilities:
            status, _ = self._command("MOVE", uid.decode(), folder)
            if status == "OK":
                return
        status, _ = self._command("COPY", uid.decode(), folder)
        self.mark_done(uid)
        if status == "OK":
            self._command("STORE", uid.decode(), "+FLAGS", "(\\Deleted)")


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
