"""Words for counts: ``plural(1, "paper")`` is "1 paper", ``plural(2, "reply", "replies")``
is "2 replies". One helper, so no message says "1 papers" or "repl(y/ies)"."""

from __future__ import annotations


def noun(count: int, singular: str, plural_form: str | None = None) -> str:
    """The noun alone in the form English wants for ``count``: the singular for exactly 1
    (and -1), else ``plural_form`` (default: the singular with "s")."""
    return singular if abs(count) == 1 else (plural_form or singular + "s")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and its noun: ``plural(1, "paper")`` is "1 paper"."""
    return f"{count} {noun(count, singular, plural_form)}"
