"""Words for counts: ``plural(1, "paper")`` is "1 paper", ``plural(2, "reply", "replies")``
is "2 replies". One helper, so no message says "1 papers" or "repl(y/ies)"."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the noun in the form English wants: the singular for exactly 1 (and
    -1), else ``plural_form`` (default: the singular with "s")."""
    noun = singular if abs(count) == 1 else (plural_form or singular + "s")
    return f"{count} {noun}"
