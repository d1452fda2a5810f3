"""Signed tokens for links, reply addresses and VERP: HMAC-SHA256, scoped by purpose,
bound to the subscriber they were made for.

One format (version 1), binary, then base32 (RFC 4648 §6) in lower case without padding::

    payload = 0x01
            | issued    4 bytes, big-endian Unix seconds (only purposes that expire)
            | holder id unsigned LEB128 varint (0: a token for no one, e.g. a CSRF token)
            | data      bytes the purpose defines (``newsletter.links`` writes and reads them)
    token   = base32(payload | mac)
    mac     = HMAC-SHA256(key, purpose 0x00 nonce 0x00 payload)[:10]

- **Purpose-scoped** (like itsdangerous namespaces): the purpose is in the MAC, not in the
  token, so an unsubscribe token never passes as a confirmation token.
- **Bound to the holder**: ``nonce`` is random per subscriber and stored in their row
  (``subscribers.token_nonce``); it is in the MAC, not in the token. A removed subscriber's
  row, and so their nonce, is gone: every token they held fails, whatever id comes next.
- **Short**: a reply token for ids below 2^31 is at most 36 characters, so that
  ``local+unsubscribe-TOKEN`` fits the 64 octets of an RFC 5321 §4.5.3.1.1 local part.
  The MAC is truncated to 80 bits, the least RFC 2104 §5 allows; each guess costs the
  forger a request or an email.
- **Case-insensitive**: some mail servers lower-case local parts; base32 survives that,
  and has no ``-``, ``_`` or ``.`` to confuse address parsing. Verification lower-cases.
- **Fails closed**: anything else is ``TokenError("invalid")``; an authentic token past
  its purpose's ``MAX_AGE`` is ``TokenError("expired")``; neither says why.

Keys: ``keys[0]`` signs, every key verifies (``PREVIOUS_SECRET_KEYS``, rotation).

Version 0, the format before nonces (``<base64url(value|issued_hex)>.<base64url(mac16)>``,
value ``"ID"`` or ``"ID:..."``), still verifies, under its old expiry rules, for a holder
whose row existed when the nonce was introduced (``Holder.legacy``) and only when it was
issued at or after that row was created: emails sent before the upgrade keep working for
the person they were sent to, never for someone who got the same id later.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from newsletter.errors import TokenError

# Purposes and how long their tokens live (seconds; None: for as long as the holder exists).
MAX_AGE: dict[str, int | None] = {
    "confirm": 7 * 24 * 3600,
    "resubscribe": 30 * 24 * 3600,  # the goodbye email's "subscribe again" link
    "unsubscribe": None,
    "preferences": None,
    "feedback": None,  # one paper's "more / less like this" (the form before issue 18)
    "edition": None,  # one email: its reader and edition; feedback links name papers under it
    "view": None,  # the personal web view of one edition ("View in browser")
    "reply": None,
    "bounce": None,
    "csrf": 24 * 3600,
}
# Purposes whose tokens are for no one (holder id 0, empty nonce).
HOLDERLESS = frozenset({"csrf"})
VERSION = 1
MAC_BYTES = 10
MAX_TOKEN_CHARS = 800
MAX_HOLDER_ID = 2**31 - 1  # subscriber ids are 32-bit integers (PostgreSQL ``integer``)
_BASE32 = re.compile(r"[a-z2-7]+")


@dataclass(frozen=True, slots=True)
class Holder:
    """Whom a token is for: the subscriber's id and the random nonce in their row.

    ``created``: when the row was made (Unix seconds); ``legacy``: the row predates nonces,
    so version-0 tokens issued since ``created`` are theirs too."""

    id: int
    nonce: str
    created: float = 0.0
    legacy: bool = False


@dataclass(frozen=True, slots=True)
class Verified:
    """What an authentic token says: its holder, its data and, for a version-0 token,
    the text it signed after ``"ID:"`` (``legacy_value``; ``data`` is then empty)."""

    holder_id: int
    data: bytes
    legacy_value: str | None = None


HolderOf = Callable[[int], Holder | None]


def uvarint(value: int) -> bytes:
    """Unsigned LEB128: 7 bits a byte, low bits first (ids below 2^28 take 4 bytes)."""
    if value < 0:
        raise ValueError("uvarint of a negative number")
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def read_uvarint(data: bytes, at: int = 0) -> tuple[int, int]:
    """``(value, next offset)``; a ``ValueError`` for a truncated or non-minimal varint."""
    value = shift = 0
    for index in range(at, min(len(data), at + 9)):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and index > at:
                raise ValueError("varint not minimal")
            return value, index + 1
        shift += 7
    raise ValueError("varint truncated")


_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 §6, lower case
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits -> two characters


def b32_lower(data: bytes) -> str:
    """``data`` in base32 (RFC 4648 §6), lower case, without padding: the same string as
    ``base64.b32encode(data).decode().rstrip("=").lower()`` (tested on random inputs),
    without its per-character Python loop (``base64`` is pure Python before 3.13; six
    of these per email, issue 18). The bytes, zero-filled to a multiple of 5, as one
    integer read 10 bits at a time; the characters of whole padding dropped."""
    size = len(data)
    fill = -size % 5
    value = int.from_bytes(data + bytes(fill), "big")
    pairs = (size + fill) * 8 // 10
    text = "".join([_PAIRS[(value >> shift) & 1023] for shift in range(10 * pairs - 10, -1, -10)])
    return text[: (size * 8 + 4) // 5]


def _b32(data: bytes) -> str:
    return b32_lower(data)


def _unb32(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs and verifies tokens. ``keys[0]`` signs; every key verifies."""

    keys: Sequence[bytes]

    @classmethod
    def from_secrets(cls, current: str, previous: Sequence[str] = ()) -> Signer:
        """A signer whose first key is ``current`` (it signs) and which also verifies the
        ``previous`` keys (rotation); ``ValueError`` for an empty key."""
        if not current:
            raise ValueError("empty secret key")
        return cls(tuple(k.encode("utf-8") for k in (current, *previous) if k))

    def digest(self, purpose: str, data: bytes) -> bytes:
        """HMAC-SHA256 of ``data`` under the current key, scoped by ``purpose`` (32 bytes).

        For identifiers that must be unguessable but are never verified by recomputing
        them, such as Message-IDs (proof is the ledger's record of what was sent)."""
        return hmac.digest(self.keys[0], purpose.encode() + b"\x00" + data, "sha256")

    def sign(
        self, purpose: str, holder: Holder | None, data: bytes = b"", *, now: float | None = None
    ) -> str:
        """A token for ``holder`` (``None`` only for the purposes in ``HOLDERLESS``).

        Holder id 0 (a sample reader, as in ``newsletter preview``) gives a token that
        never verifies."""
        _check_purpose(purpose)
        if (holder is None) != (purpose in HOLDERLESS):
            raise ValueError(f"a {purpose!r} token needs {'no' if holder is None else 'a'} holder")
        if holder is not None and (holder.id < 0 or not holder.nonce):
            raise ValueError(f"subscriber #{holder.id} has no token nonce: cannot sign for them")
        payload = bytes([VERSION])
        if MAX_AGE[purpose] is not None:
            issued = int(time.time() if now is None else now)
            payload += issued.to_bytes(4, "big")
        payload += uvarint(holder.id if holder else 0) + data
        nonce = holder.nonce if holder else ""
        return _b32(payload + _mac(self.keys[0], purpose, nonce, payload))

    def verify(
        self, purpose: str, token: str, holder_of: HolderOf, *, now: float | None = None
    ) -> Verified:
        """The holder and data of an authentic token, or ``TokenError("invalid" | "expired")``.

        ``holder_of(id)`` looks the holder up (``None``: no such subscriber, invalid)."""
        _check_purpose(purpose)
        current = time.time() if now is None else now
        if "." in token:
            return self._verify_legacy(purpose, token, holder_of, current)
        text = token.strip().lower()
        if len(text) > MAX_TOKEN_CHARS or not _BASE32.fullmatch(text):
            raise TokenError("invalid")
        try:
            raw = _unb32(text)
        except (binascii.Error, ValueError):
            raise TokenError("invalid") from None
        # One spelling per token: the spare bits of the last character must be zero.
        if _b32(raw) != text or len(raw) < 2 + MAC_BYTES or raw[0] != VERSION:
            raise TokenError("invalid")
        payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        at, issued = 1, None
        if MAX_AGE[purpose] is not None:
            if len(payload) < 5:
                raise TokenError("invalid")
            issued, at = int.from_bytes(payload[1:5], "big"), 5
        try:
            holder_id, at = read_uvarint(payload, at)
        except ValueError:
            raise TokenError("invalid") from None
        if purpose in HOLDERLESS:
            if holder_id:
                raise TokenError("invalid")
            nonce = ""
        else:
            holder = holder_of(holder_id) if 0 < holder_id <= MAX_HOLDER_ID else None
            if holder is None or not holder.nonce:
                raise TokenError("invalid")
            nonce = holder.nonce
        valid = False
        for key in self.keys:
            valid |= hmac.compare_digest(mac, _mac(key, purpose, nonce, payload))
        if not valid:
            raise TokenError("invalid")
        _check_age(purpose, issued, current)
        return Verified(holder_id, payload[at:])

    def _verify_legacy(self, purpose: str, token: str, holder_of: HolderOf, now: float) -> Verified:
        """Version 0 (``value|issued_hex`` signed with a 16-byte MAC), for legacy holders."""
        if purpose in HOLDERLESS:
            raise TokenError("invalid")
        try:
            payload_text, _, mac_text = token.partition(".")
            payload = _unb64(payload_text)
            mac = _unb64(mac_text)
        except (ValueError, UnicodeError):
            raise TokenError("invalid") from None
        if not payload or len(mac) != 16 or _b64(payload) != payload_text or _b64(mac) != mac_text:
            raise TokenError("invalid")
        valid = False
        for key in self.keys:
            expected = hmac.digest(key, purpose.encode() + b"\x00" + payload, "sha256")[:16]
            valid |= hmac.compare_digest(mac, expected)
        if not valid:
            raise TokenError("invalid")
        value, sep, issued_hex = payload.decode("utf-8", "replace").rpartition("|")
        sid, _, rest = value.partition(":")
        if (
            not sep
            or not re.fullmatch(r"\d{1,12}", sid)
            or not re.fullmatch(r"[0-9a-f]{1,12}", issued_hex)
        ):
            raise TokenError("invalid")
        issued, holder_id = int(issued_hex, 16), int(sid)
        holder = holder_of(holder_id) if 0 < holder_id <= MAX_HOLDER_ID else None
        if holder is None or not holder.legacy or issued < int(holder.created):
            raise TokenError("invalid")
        _check_age(purpose, issued, now)
        return Verified(holder_id, b"", legacy_value=rest)


def _check_purpose(purpose: str) -> None:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")


def _check_age(purpose: str, issued: int | None, now: float) -> None:
    max_age = MAX_AGE[purpose]
    if max_age is not None and (issued is None or now - issued > max_age):
        raise TokenError("expired")


def _mac(key: bytes, purpose: str, nonce: str, payload: bytes) -> bytes:
    message = purpose.encode() + b"\x00" + nonce.encode() + b"\x00" + payload
    return hmac.digest(key, message, "sha256")[:MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
