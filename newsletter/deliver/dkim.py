"""DKIM signing with dkimpy over the exact bytes that go on the wire.

The key is read once, when the transport opens, never inside the sending loop.
The signature covers the headers below that the message carries (From always),
with relaxed/relaxed canonicalisation; ``sign`` returns the header followed by
the unchanged message bytes, and those bytes are what is sent.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from types import ModuleType

from newsletter.config import Settings
from newsletter.errors import SettingsError

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
)


def dkimpy() -> ModuleType:
    """dkimpy, imported when DKIM is configured (about 0.15 s of CPU a process otherwise
    spent for nothing: ``bench/startup_speed.py``); loaded by ``from_settings``, so before
    the send forks its helpers, which then share it."""
    return importlib.import_module("dkim")


def _header_names(data: bytes) -> set[str]:
    head = data.split(b"\r\n\r\n", 1)[0]
    return {m.group(1).decode("ascii").lower() for m in re.finditer(rb"(?m)^([!-9;-~]+):", head)}


@dataclass(frozen=True, slots=True)
class DkimSigner:
    """Signs message bytes with DKIM (RFC 6376): ``selector``, ``domain`` (the ``d=`` tag) and
    the PEM ``private_key``, read once when the transport opens."""

    selector: str
    domain: str
    private_key: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        """A signer when all three DKIM settings are set, ``None`` when none is."""
        values = (settings.dkim_selector, settings.dkim_domain, settings.dkim_private_key_path)
        if not any(values):
            return None
        if settings.dkim_selector is None:
            raise SettingsError("NEWSLETTER_DKIM_SELECTOR", "needed with the other DKIM settings")
        if settings.dkim_domain is None:
            raise SettingsError("NEWSLETTER_DKIM_DOMAIN", "needed with the other DKIM settings")
        path = settings.dkim_private_key_path
        if path is None:
            raise SettingsError(
                "NEWSLETTER_DKIM_PRIVATE_KEY_PATH", "needed with the other DKIM settings"
            )
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise SettingsError(
                "NEWSLETTER_DKIM_PRIVATE_KEY_PATH", f"cannot read {path}: {exc.strerror}"
            ) from None
        if b"PRIVATE KEY" not in key:
            raise SettingsError("NEWSLETTER_DKIM_PRIVATE_KEY_PATH", f"{path} is not a PEM key")
        dkimpy()
        return cls(settings.dkim_selector, settings.dkim_domain, key)

    def sign(self, data: bytes) -> bytes:
        """``DKIM-Signature: ...`` + ``data`` (which must use CRLF line endings)."""
        present = _header_names(data)
        headers = [h.encode("ascii") for h in SIGNED_HEADERS if h.lower() in present]
        dkim = dkimpy()
        try:
            signature = dkim.sign(
                data,
                self.selector.encode("ascii"),
                self.domain.encode("ascii"),
                self.private_key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=headers,
                linesep=b"\r\n",
            )
        except dkim.DKIMException as exc:
            raise SettingsError("NEWSLETTER_DKIM_PRIVATE_KEY_PATH", f"cannot sign: {exc}") from None
        return bytes(signature) + data
