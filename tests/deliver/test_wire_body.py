"""Dot-stuffing and line endings of the DATA payload (RFC 5321 4.1.1.4 and 4.5.2):
``deliver.wire`` gives exactly aiosmtplib's encoding, whichever of its paths it takes."""

from __future__ import annotations

import random

from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from newsletter.deliver.wire import payload, wire_body


def library(data: bytes) -> bytes:
    """What ``aiosmtplib.protocol.SMTPProtocol.execute_data_command`` writes after 354."""
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data)) + b".\r\n"


def test_every_line_starting_with_a_dot_is_doubled() -> None:
    assert wire_body(b".a\r\nb\r\n.\r\n..c") == b"..a\r\nb\r\n..\r\n...c\r\n.\r\n"


def test_lone_line_ends_become_crlf_as_the_library_makes_them() -> None:
    assert wire_body(b"a\nb\rc\r\n") == b"a\r\nb\r\nc\r\n.\r\n"
    assert wire_body(b"a\n.b") == b"a\r\n..b\r\n.\r\n"


def test_matches_the_library_on_random_payloads() -> None:
    rng = random.Random(3)
    pieces = [b".", b"\r\n", b"\n", b"a", b"..", b"\r", b" ", b"\xe9", b"\x00"]
    for _ in range(20000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert wire_body(data) == library(data), data


def test_matches_the_library_on_clean_crlf_payloads() -> None:
    """The fast paths' inputs: CRLF lines only, with and without dots."""
    rng = random.Random(4)
    lines = [b"", b".", b"..", b".a", b"a.b", b"text", b" .", b"\xc3\xa9"]
    for _ in range(20000):
        data = b"".join(rng.choice(lines) + b"\r\n" for _ in range(rng.randint(0, 8)))
        assert wire_body(data) == library(data), data
        if data and b"\n." not in data and not data.startswith(b"."):
            assert payload(data) is data
