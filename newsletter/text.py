"""Small pure text helpers shared by every layer: no I/O, no project imports.

- ``plain``: untrusted text without what no name or topic holds: C0/C1 control characters
  (NUL, which PostgreSQL refuses in text, escape sequences), DEL, bidi embeddings,
  overrides and isolates (U+202A–U+202E, U+2066–U+2069: "Trojan Source", CVE-2021-42574)
  and lone surrogates (not encodable as UTF-8); line breaks become spaces.
- ``one_line``: untrusted text fit for a header, a subject or a log line (RFC 5322 §2.2:
  a header field body may not hold a bare CR or LF; no control characters; length-capped).
- ``split_terms``: a topic list as a reader types it (``"a; b, c"`` or one per line).
- ``local_time``: a moment as every command shows it, ``2026-11-30 04:48 CET`` in
  ``TIMEZONE``.
- ``visible`` and ``json_line``: untrusted text for a terminal, kept whole but with every
  character a terminal acts on or hides (controls, bidi overrides, zero-width and other
  format characters, line separators, surrogates, private-use and unassigned code points)
  shown as an escape (``\\u202e``), so "Trojan Source" text cannot reorder what is printed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
import zoneinfo

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
# Removed outright: invisible, and meaningless (or harmful) in one line of plain text.
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]+"
)
_SEPARATORS = re.compile(r"[;,\n\r]+")


def plain(value: object) -> str:
    """``value`` as one line of plain text: the ``_INVISIBLE`` characters removed, line
    breaks and other control characters made spaces, runs of white space one space,
    stripped. No length cap (``one_line`` has one)."""
    text = _INVISIBLE.sub("", str(value))
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def one_line(value: object, limit: int = 200) -> str:
    """``value`` as one line of at most ``limit`` characters (a cut ends at a word, with "…").

    Line breaks (CR/LF, U+2028 …) become spaces and runs of white space one space, so
    untrusted text cannot split a header; other control and bidi-override characters go
    (``plain``). An exception with an empty message gives its
    type's name."""
    text = plain(value)
    if not text and isinstance(value, BaseException):
        return type(value).__name__
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def split_terms(text: str) -> list[str]:
    """``"a; b, c"`` or one per line -> ``["a", "b", "c"]`` (cleaning is the store's job)."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


def local_time(value: dt.datetime | str | None, timezone: str) -> str:
    """``value`` (an aware datetime, or its ISO 8601 text) as ``YYYY-MM-DD HH:MM ZONE`` in
    the IANA zone ``timezone`` (the ``TIMEZONE`` setting); ``never`` for None. A naive
    value is taken as UTC."""
    if value is None:
        return "never"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zoneinfo.ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


# Unicode general categories a terminal acts on or hides: controls, format characters (bidi
# embeddings, overrides and isolates, zero-width joiners), line and paragraph separators,
# surrogates, private use, unassigned.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def visible(value: object) -> str:
    """``value`` with each hidden character (``_HIDDEN_CATEGORIES``, line breaks included)
    written as ``\\uXXXX`` (``\\UXXXXXXXX`` above U+FFFF): nothing is dropped, nothing
    reorders or hides the text around it. Backslashes are kept as they are."""
    return "".join(
        (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}") if _hidden(c) else c
        for c in str(value)
    )


def json_line(value: object) -> str:
    """``value`` as one line of JSON, non-ASCII letters kept readable (``ensure_ascii=False``)
    but each hidden character (``_HIDDEN_CATEGORIES``) written as a JSON ``\\uXXXX`` escape
    (a surrogate pair above U+FFFF): the JSON means the same, and no bidi override or control
    character reaches the terminal. Raises TypeError for what ``json.dumps`` cannot encode."""
    text = json.dumps(value, ensure_ascii=False)
    return "".join(json.dumps(c)[1:-1] if _hidden(c) and c not in "\t" else c for c in text)
