"""Dot-stuffing of the DATA payload (RFC 5321 4.5.2)."""

from __future__ import annotations

import random
import re

from newsletter.deliver.smtp import wire_body

LEADING_DOT = re.compile(rb"(?m)^\.")


def test_every_line_starting_with_a_dot_is_doubled() -> None:
    assert wire_body(b".a\r\nb\r\n.\r\n..c") == b"..a\r\nb\r\n..\r\n...c\r\n.\r\n"


def test_matches_the_line_regex_on_random_payloads() -> None:
    rng = random.Random(3)
    pieces = [b".", b"\r\n", b"\n", b"a", b"..", b"\r", b" "]
    for _ in range(2000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        body = LEADING_DOT.sub(b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        assert wire_body(data) == body + b".\r\n", data
