"""Quoted-printable of a line made of long fixed pieces and a reader's values, the fixed
pieces encoded once per column they start at (issue 18).

columns = Columns()
data = columns.encode([("<td>" * 40, True), ("Ada", False), ("</td>\\n" * 1, True)])
# == qp_lines("".join(texts)): binascii.b2a_qp with CRLF, byte for byte

MJML writes long lines (2,000 characters of markup around a topic list or a footer
address), and a line with a reader's value in it is encoded per email. ``binascii.b2a_qp``
decides each character from the column it is at, the character itself and whether the
next one is a line end (RFC 2045 §6.7: soft breaks before a character that does not fit
in 76 columns; blanks escaped before a line end; a lone dot): so a piece followed by a
character that is not a line end encodes the same after as many placeholder characters as
its column (``x``), and followed by one placeholder; its own encoding ends at a known
column, where the next piece starts. A fixed piece of ``LONG`` characters or more is kept
per (piece, column, whether it ends the text); the values and short pieces between them
are encoded per email. A piece followed by a line end (a value that starts with one) is
joined to what follows.
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence

LONG = 96  # fixed characters worth encoding once per column
MAX_KEPT = 5_000  # (piece, column) encodings kept per edition
_LINE_ENDS = ("\n", "\r")


def encode_from(column: int, text: str, last: bool) -> tuple[bytes, int]:
    """``text`` as quoted-printable (CRLF) when it starts at ``column`` (< 76) of an
    encoded line, followed by a character that is not a line end (``last``: by nothing,
    the text's own end); the column its encoding ends at."""
    data = b"x" * column + text.encode("utf-8") + (b"" if last else b"x")
    encoded = binascii.b2a_qp(data, istext=True)[column:]
    if not last:
        encoded = encoded[:-1]
    end = encoded.rfind(b"\n")
    at = len(encoded) - end - 1 if end >= 0 else column + len(encoded)
    return encoded.replace(b"\n", b"\r\n"), at


class Columns:
    """Long fixed pieces encoded per column, for one edition; ``clear()`` for the next."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, int, bool], tuple[bytes, int]] = {}

    def clear(self) -> None:
        """Forget the pieces (a new edition)."""
        self._kept.clear()

    def encode(self, pieces: Sequence[tuple[str, bool]]) -> bytes:
        """``pieces`` (text, whether every email has it) joined, as quoted-printable with
        CRLF: ``b2a_qp`` of the joined text (no CR in it)."""
        texts = [(text, fixed) for text, fixed in pieces if text]
        out: list[bytes] = []
        column = 0
        waiting: list[str] = []  # text encoded per email, before the next long piece
        kept = self._kept
        count = len(texts)
        for index, (text, fixed) in enumerate(texts):
            last = index + 1 == count
            # (``startswith``, not ``text[0]``: a ``Markup`` value makes a Markup of a slice)
            if (
                not fixed
                or len(text) < LONG
                or text.startswith(_LINE_ENDS)
                or (not last and texts[index + 1][0].startswith(_LINE_ENDS))
            ):
                waiting.append(text)
                continue
            if waiting:
                encoded, column = encode_from(column, "".join(waiting), False)
                out.append(encoded)
                waiting = []
            key = (text, column, last)
            known = kept.get(key)
            if known is None:
                known = encode_from(column, text, last)
                if len(kept) < MAX_KEPT:
                    kept[key] = known
            out.append(known[0])
            column = known[1]
        if waiting:
            out.append(encode_from(column, "".join(waiting), True)[0])
        return b"".join(out)
