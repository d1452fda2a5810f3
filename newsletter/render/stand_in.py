"""An email's edition token written late: the digest is rendered and encoded with a
stand-in of the token's length, the same for every reader, then the stand-in is swapped
for the reader's token in the text and in its quoted-printable (issue 18).

stand_ins = StandIns()
fake = stand_ins.of(token)                  # letters a-z, as long as ``token``
html = ...render with ``fake`` in the links...
encoded = stand_ins.swap_qp(encoded, html.count(fake), fake, token)
html = html.replace(fake, token)

Why it gives the same bytes: a token is base32 in lower case (``tokens``: ``a-z2-7``) and
the stand-in is letters; ``binascii.b2a_qp`` writes every one of those characters as it
is, one column each, and decides soft breaks (``=`` CRLF, RFC 2045 §6.7 rule 5) from the
columns and from spaces and line ends only. So the encoding of the text with the token is
the encoding with the stand-in, character for character, soft breaks at the same places:
a stand-in cut by a soft break is written back cut at the same place.

What it buys: every link under the token (the feedback links of each paper, the web view)
reads the same in every email with a token of that length (ids of the same size), so the
lines that hold them, and whole sections (``render.kept_sections``), are shared by readers
of the same topics and encoded once per edition.

The stand-in is 24 or more random letters (``secrets``), a new one per process: no feed or
reader can put it in an email (a chance of about 26**-24 that a text holds it by luck).
"""

from __future__ import annotations

import re
import secrets
import string

_LETTERS = string.ascii_lowercase
MIN_LENGTH = 24  # a shorter token keeps its own value (never the case for edition tokens)


class StandIns:
    """One stand-in per token length, for the life of the renderer."""

    def __init__(self) -> None:
        self._made: dict[int, str] = {}

    def of(self, token: str) -> str:
        """The stand-in for ``token`` (as long as it); ``token`` itself when it is shorter
        than ``MIN_LENGTH`` or not lower-case base32 (then nothing is swapped)."""
        length = len(token)
        made = self._made.get(length)
        if made is None:
            if length < MIN_LENGTH or not _is_base32(token):
                return token
            made = "".join(secrets.choice(_LETTERS) for _ in range(length))
            self._made[length] = made
        elif not _is_base32(token):
            return token
        return made

    def swap_qp(self, data: bytes, count: int, stand_in: str, token: str) -> bytes:
        """``data`` (quoted-printable of a text that holds ``stand_in`` ``count`` times)
        with ``token`` in its place, a soft break inside one kept where it is."""
        if stand_in == token or not count:
            return data
        fake, real = stand_in.encode("ascii"), token.encode("ascii")
        whole = data.count(fake)
        data = data.replace(fake, real)
        if whole == count:
            return data
        return _swap_cut(data, count - whole, fake, real)


def _swap_cut(data: bytes, missing: int, fake: bytes, real: bytes) -> bytes:
    """``data`` with the ``missing`` stand-ins that a soft break cuts (after ``k``
    letters, 0 < k < len) swapped. Either half of the stand-in is whole on one side of
    the break: an occurrence starts with the first half (k >= half) or ends with the
    second (k <= half), found with ``bytes.find``."""
    length = len(fake)
    half = length // 2
    fixes: dict[int, bytes] = {}
    for needle, back in ((fake[:half], 0), (fake[half:], half + 3)):
        at = data.find(needle)
        while at >= 0 and len(fixes) < missing:
            start = at - back
            piece = data[start : start + length + 3] if start >= 0 else b""
            k = piece.find(b"=\r\n")
            if 0 < k < length and piece[:k] + piece[k + 3 :] == fake:
                fixes[start] = real[:k] + b"=\r\n" + real[k:]
            at = data.find(needle, at + 1)
    out: list[bytes] = []
    done = 0
    for start in sorted(fixes):
        out += [data[done:start], fixes[start]]
        done = start + length + 3
    out.append(data[done:])
    return b"".join(out)


_BASE32 = re.compile(r"[a-z2-7]+")


def _is_base32(token: str) -> bool:
    return _BASE32.fullmatch(token) is not None
