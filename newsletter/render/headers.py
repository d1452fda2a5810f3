"""Headers with non-ASCII text as RFC 2047 says: encoded-words of at most 75 characters,
on lines of at most 76 (RFC 2047 §2), each a whole number of characters (§5).

The ``email`` package gets this wrong: at ``max_line_length=78`` it writes encoded-words
of 76-77 characters, and at 998 (which keeps URL headers such as List-Unsubscribe whole)
one encoded-word for a whole subject. ``POLICY`` is the SMTP policy (CRLF) with its own
``fold_binary`` for unstructured headers (Subject) and address headers (display names)
whose text is not ASCII; every other header is folded by the ``email`` package as before.

Unstructured text keeps its ASCII words readable and encodes each run of words with
non-ASCII text (or a ``=?`` that a reader would take for an encoded-word); a display name
with non-ASCII text is encoded whole. The encoding is Q or B, whichever is shorter, with
Q limited to the characters RFC 2047 §5(3) allows in a phrase.
"""

from __future__ import annotations

import base64
from email.headerregistry import AddressHeader, UnstructuredHeader
from email.policy import EmailPolicy

MAX_WORD = 75
MAX_LINE = 76
_OVERHEAD = len("=?utf-8?q??=")
MIN_FIRST = _OVERHEAD + 12  # room for one character of any encoding
_Q_LITERAL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


def _q_size(byte: int) -> int:
    return 1 if byte in _Q_LITERAL or byte == 0x20 else 3


def _encode(data: bytes, q: bool) -> str:
    if not q:
        return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="
    text = "".join("_" if b == 0x20 else chr(b) if b in _Q_LITERAL else f"={b:02X}" for b in data)
    return f"=?utf-8?q?{text}?="


def encoded_words(text: str, first: int = MAX_WORD) -> list[str]:
    """``text`` as UTF-8 encoded-words: the first at most ``first`` characters long, the
    others at most 75; none splits a character."""
    data = text.encode("utf-8")
    q = sum(_q_size(b) for b in data) <= 4 * -(-len(data) // 3)

    def length(size: int, q_size: int) -> int:
        return _OVERHEAD + (q_size if q else 4 * -(-size // 3))

    words: list[str] = []
    chunk, q_size, room = b"", 0, max(first, MIN_FIRST)
    for char in text:
        piece = char.encode("utf-8")
        piece_q = sum(_q_size(b) for b in piece)
        if chunk and length(len(chunk) + len(piece), q_size + piece_q) > room:
            words.append(_encode(chunk, q))
            chunk, q_size, room = b"", 0, MAX_WORD
        chunk, q_size = chunk + piece, q_size + piece_q
    if chunk:
        words.append(_encode(chunk, q))
    return words


class _Lines:
    """Tokens on lines of at most 76 characters, folded at the spaces between them (a
    single ASCII word longer than that keeps a line of its own, up to RFC 5322's 998)."""

    def __init__(self, name: str) -> None:
        self.done: list[str] = []
        self.line = f"{name}:"
        self.tokens = 0

    @property
    def room(self) -> int:
        return MAX_LINE - len(self.line) - 1

    def _fold(self) -> None:
        self.done.append(self.line)
        self.line, self.tokens = "", 0

    def add(self, token: str) -> None:
        if self.tokens and len(token) > self.room:
            self._fold()
        self.line += " " + token
        self.tokens += 1

    def add_encoded(self, text: str) -> None:
        if self.room < MIN_FIRST:
            self._fold()
        for word in encoded_words(text, self.room):
            self.add(word)

    def folded(self) -> bytes:
        return ("\r\n".join([*self.done, self.line]) + "\r\n").encode("ascii")


def _needs_encoding(word: str) -> bool:
    return not word.isascii() or "=?" in word or not word.isprintable()


def fold_unstructured(name: str, text: str) -> bytes:
    """``Name: text`` with each run of non-ASCII words as encoded-words; lossless: a
    reader unfolds and decodes back to ``text``."""
    lines = _Lines(name)
    words = text.split(" ")
    if any(not w for w in words) or "\t" in text:  # spacing folding cannot keep: all encoded
        lines.add_encoded(text)
        return lines.folded()
    run: list[str] = []
    for word in words:
        if _needs_encoding(word):
            run.append(word)
            continue
        if run:
            lines.add_encoded(" ".join(run))
            run = []
        lines.add(word)
    if run:
        lines.add_encoded(" ".join(run))
    return lines.folded()


def fold_address(name: str, display_name: str, addr_spec: str) -> bytes:
    """``Name: =?utf-8?...?= <addr>``: one address whose display name is encoded whole, for a
    name that is not ASCII or holds ``=?`` (a reader would decode it as an encoded-word:
    RFC 2047 §6.2)."""
    lines = _Lines(name)
    lines.add_encoded(display_name)
    lines.add(f"<{addr_spec}>")
    return lines.folded()


def fold_addresses(name: str, header: AddressHeader) -> bytes:
    """``Name: display name <addr>, ...`` with non-ASCII display names as encoded-words."""
    lines = _Lines(name)
    addresses = header.addresses
    for index, address in enumerate(addresses):
        last = index == len(addresses) - 1
        spec = f"<{address.addr_spec}>" + ("" if last else ",")
        if address.display_name:
            lines.add_encoded(address.display_name)
            lines.add(spec)
        else:
            lines.add(address.addr_spec + ("" if last else ","))
    return lines.folded()


class Rfc2047Policy(EmailPolicy):
    """``EmailPolicy`` whose non-ASCII Subject and display names fold as RFC 2047 says."""

    def fold_binary(self, name: str, value: str) -> bytes:
        """The header ``name: value`` folded for RFC 2047 (encoded words of at most 75
        characters on lines of at most 76) as bytes with CRLF."""
        if isinstance(value, UnstructuredHeader) and (not value.isascii() or "=?" in value):
            return fold_unstructured(name, str(value))  # "=?" as text: readers would decode it
        if (
            isinstance(value, AddressHeader)
            and not value.isascii()
            and all(g.display_name is None for g in value.groups)
            and all(a.addr_spec.isascii() for a in value.addresses)
        ):
            return fold_addresses(name, value)
        return super().fold_binary(name, value)


SMTP_POLICY = Rfc2047Policy(linesep="\r\n")
