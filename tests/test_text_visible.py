"""``text.visible`` and ``text.json_line``: untrusted text shown whole, with nothing a terminal
would act on or hide ("Trojan Source", CVE-2021-42574: bidi overrides reorder a line)."""

from __future__ import annotations

import json

import pytest

from newsletter.text import json_line, visible

HIDDEN = [
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u200b",  # ZERO WIDTH SPACE
    "\x1b",  # ESC: terminal escape sequences
    "\x85",  # NEL
    "\u2028",  # LINE SEPARATOR
    "\U000e0001",  # LANGUAGE TAG
    "\ue000",  # private use
]


@pytest.mark.parametrize("char", HIDDEN)
def test_hidden_characters_are_written_as_escapes_and_nothing_is_dropped(char: str) -> None:
    shown = visible(f"kate{char}@example.net")
    assert char not in shown
    code = ord(char)
    assert (
        shown
        == f"kate\\{'u' if code <= 0xFFFF else 'U'}{code:0{4 if code <= 0xFFFF else 8}x}@example.net"
    )


@pytest.mark.parametrize("char", HIDDEN)
def test_json_lines_carry_hidden_characters_as_escapes_and_mean_the_same(char: str) -> None:
    value = {"recipients": [f"j\u00f6rg{char}gro@example.net"], "file": f"a{char}.eml"}
    line = json_line(value)
    assert char not in line and "\n" not in line
    assert "j\u00f6rg" in line  # letters stay as they are
    assert json.loads(line) == value


def test_plain_text_is_unchanged() -> None:
    text = "Jörg Müller <jörg@example.net> 日本語\tok"
    assert visible(text) == "Jörg Müller <jörg@example.net> 日本語\\u0009ok"
    assert json.loads(json_line(text)) == text
