"""Small pure text helpers shared by every layer: no I/O, no project imports.

- ``one_line``: untrusted text fit for a header, a subject or a log line (RFC 5322 §2.2:
  a header field body may not hold a bare CR or LF; no control characters; length-capped).
- ``split_terms``: a topic list as a reader types it (``"a; b, c"`` or one per line).
"""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SEPARATORS = re.compile(r"[;,\n\r]+")


def one_line(value: object, limit: int = 200) -> str:
    """``value`` as one line of at most ``limit`` characters (a cut ends at a word, with "…").

    Control characters (CR/LF, U+2028 …) become spaces and runs of white space one space,
    so untrusted text cannot split a header. An exception with an empty message gives its
    type's name."""
    text = _SPACE.sub(" ", _CONTROL.sub(" ", str(value))).strip()
    if not text and isinstance(value, BaseException):
        return type(value).__name__
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def split_terms(text: str) -> list[str]:
    """``"a; b, c"`` or one per line -> ``["a", "b", "c"]`` (cleaning is the store's job)."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]
