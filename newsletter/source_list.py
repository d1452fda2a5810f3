"""The ``SOURCES`` setting's grammar: ``name[:argument]`` entries separated by commas.

Pure and light (no pydantic): ``newsletter.config`` validates ``SOURCES`` with it, and so
does the small settings reader of ``newsletter status`` (``newsletter.status_settings``).
"""

from __future__ import annotations

import re

SOURCE_NAMES = ("hf_daily", "arxiv_rss", "arxiv_api", "sample")


class SourceSpec:
    """One entry of ``SOURCES``: ``name`` or ``name:argument``."""

    __slots__ = ("argument", "name")

    def __init__(self, name: str, argument: str = "") -> None:
        self.name = name
        self.argument = argument

    def __repr__(self) -> str:
        return f"{self.name}:{self.argument}" if self.argument else self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SourceSpec) and (self.name, self.argument) == (
            other.name,
            other.argument,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.argument))


def parse_sources(value: str) -> list[SourceSpec]:
    """Split ``hf_daily,arxiv_rss:cs.LG+cs.CL,arxiv_api:all:"test-time adaptation"``.

    Commas inside double quotes do not split. ``ValueError`` (one line) for an unknown
    source, a missing argument, or a ``"`` never closed (named with its position).
    """
    if value.count('"') % 2:
        at = value.rfind('"')
        raise ValueError(
            f"the double quote at character {at + 1} is never closed:"
            f" {value[max(0, at - 12) : at + 20]!r}"
        )
    specs: list[SourceSpec] = []
    for raw in re.findall(r'(?:[^,"]|"[^"]*")+', value):
        item = raw.strip()
        if not item:
            continue
        name, _, argument = item.partition(":")
        name = name.strip()
        if name not in SOURCE_NAMES:
            raise ValueError(f"unknown source {name!r} (known: {', '.join(SOURCE_NAMES)})")
        if name in ("arxiv_rss", "arxiv_api") and not argument.strip():
            raise ValueError(f"source {name} needs an argument, e.g. {name}:cs.LG")
        specs.append(SourceSpec(name, argument.strip()))
    if not specs:
        raise ValueError("no sources configured")
    return specs
