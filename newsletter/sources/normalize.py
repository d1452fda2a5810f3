"""Text and identifier clean-up shared by every source parser. Pure functions."""

from __future__ import annotations

import datetime as dt
import logging
import re

from newsletter.errors import ParseError

logger = logging.getLogger(__name__)

# New-style ids (0704.0001 .. 2611.01234) and old-style archive ids (hep-th/9901001,
# math.AG/0601001), each optionally followed by a version suffix.
_ARXIV_ID = re.compile(
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?",
)
# "cs.LG", "stat.ML", "math-ph", "hep-th", "q-bio.NC", "physics.flu-dyn"; not MSC/ACM codes.
_CATEGORY = re.compile(r"^[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?$")
_WHITESPACE = re.compile(r"\s+")
# JSON may carry lone UTF-16 surrogates ("\ud800"), which UTF-8 cannot encode, and control
# characters (NUL, which PostgreSQL's JSONB refuses; ESC; BEL) that no reader should get.
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def collapse(text: str | None) -> str:
    """Join hard-wrapped lines: every run of whitespace (CR/LF included) becomes one space.
    A lone surrogate becomes U+FFFD and other control characters are dropped, so that the
    text can be stored and sent whatever an upstream wrote."""
    text = _WHITESPACE.sub(" ", text or "")
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text)).strip()


def arxiv_id(value: str) -> str | None:
    """The bare arXiv id (no version) found at the end of an id, URL or OAI identifier."""
    text = value.strip()
    for match in _ARXIV_ID.finditer(text):
        if match.end() == len(text):
            return match.group("id")
    return None


def is_category(term: str) -> bool:
    """Whether ``term`` is an arXiv category code (``cs.CL``, ``math.AP``, ``hep-th``)."""
    return bool(_CATEGORY.match(term))


def categories(terms: list[str]) -> tuple[str, ...]:
    """Keep arXiv category terms in order, without duplicates or classification codes."""
    return tuple(dict.fromkeys(t.strip() for t in terms if is_category(t.strip())))


def utc(text: str, *, source: str) -> dt.datetime:
    """Parse an ISO 8601 timestamp ("2024-06-13T17:59:56.000Z") to an aware UTC datetime."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError, TypeError):
        raise ParseError(source, f"bad timestamp {str(text)[:40]!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def published_or_none(text: str, *, source: str) -> dt.datetime | None:
    """A paper's date, or None (with a warning) when the source wrote one we cannot read:
    one bad date never costs the paper, let alone the rest of the response."""
    if not text:
        return None
    try:
        return utc(text, source=source)
    except ParseError as exc:
        logger.warning("%s; keeping the paper without a date", exc)
        return None
