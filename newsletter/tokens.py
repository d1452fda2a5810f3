"""Signed tokens for links and reply addresses: HMAC-SHA256, scoped by purpose.

A token is ``<payload>.<signature>``, both base64url without padding. The payload
is ``value`` plus the issue time; the signature covers the purpose too, so an
unsubscribe token can never pass as a confirmation token. Verification is
constant-time and tries the current key, then each previous key (rotation).

Tokens are short enough for a mailto plus-address (``papers+unsub-TOKEN@...``)
and use only ``[A-Za-z0-9_-.]``.
"""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass

from newsletter.errors import TokenError

# Purposes and how long their tokens live (seconds; None: for ever).
MAX_AGE: dict[str, int | None] = {
    "confirm": 7 * 24 * 3600,
    "unsubscribe": None,
    "preferences": None,
    "feedback": None,
    "reply": None,
    "bounce": None,
    "web": None,
    "csrf": 24 * 3600,
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs and verifies tokens. ``keys[0]`` signs; every key verifies."""

    keys: Sequence[bytes]

    @classmethod
    def from_secrets(cls, current: str, previous: Sequence[str] = ()) -> Signer:
        if not current:
            raise ValueError("empty secret key")
        return cls(tuple(k.encode("utf-8") for k in (current, *previous) if k))

    def digest(self, purpose: str, data: bytes) -> bytes:
        """HMAC-SHA256 of ``data`` under the current key, scoped by ``purpose`` (32 bytes).

        For identifiers that must be unguessable but are never verified by recomputing
        them, such as Message-IDs (proof is the ledger's record of what was sent)."""
        return hmac.digest(self.keys[0], purpose.encode() + b"\x00" + data, "sha256")

    def _mac(self, key: bytes, purpose: str, payload: bytes) -> bytes:
        return hmac.digest(key, purpose.encode() + b"\x00" + payload, "sha256")[:16]

    def sign(self, purpose: str, value: str, *, now: float | None = None) -> str:
        if purpose not in MAX_AGE:
            raise ValueError(f"unknown token purpose {purpose!r}")
        issued = int(time.time() if now is None else now)
        payload = f"{value}|{issued:x}".encode()
        return _b64(payload) + "." + _b64(self._mac(self.keys[0], purpose, payload))

    def verify(self, purpose: str, token: str, *, now: float | None = None) -> str:
        """Return the signed value, or raise ``TokenError("invalid" | "expired")``."""
        if purpose not in MAX_AGE:
            raise ValueError(f"unknown token purpose {purpose!r}")
        try:
            payload_text, _, mac_text = token.partition(".")
            payload = _unb64(payload_text)
            mac = _unb64(mac_text)
        except (ValueError, UnicodeError):
            raise TokenError("invalid") from None
        if not payload or len(mac) != 16:
            raise TokenError("invalid")
        # One spelling per token: base64 decoding ignores stray characters and the spare
        # bits of the last one, so a changed token could otherwise still decode the same.
        if _b64(payload) != payload_text or _b64(mac) != mac_text:
            raise TokenError("invalid")
        valid = False
        for key in self.keys:
            valid |= hmac.compare_digest(mac, self._mac(key, purpose, payload))
        if not valid:
            raise TokenError("invalid")
        value, sep, issued_hex = payload.decode("utf-8", "replace").rpartition("|")
        if not sep:
            raise TokenError("invalid")
        try:
            issued = int(issued_hex, 16)
        except ValueError:
            raise TokenError("invalid") from None
        max_age = MAX_AGE[purpose]
        current = time.time() if now is None else now
        if max_age is not None and current - issued > max_age:
            raise TokenError("expired")
        return value
