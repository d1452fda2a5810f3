"""A message's DATA payload in wire form (RFC 5321 sections 4.1.1.4 and 4.5.2), byte for
byte what aiosmtplib's ``execute_data_command`` writes after the 354, with no copy when the
message is already in that form.

aiosmtplib (5.x) turns every lone CR or LF into CRLF, makes the message end with CRLF
(``normalize_message_line_endings``) and doubles a dot that starts a line
(``PERIOD_REGEX``): two regular-expression passes and two copies of every message (about
0.3 ms for a 45 KB digest). A rendered digest is already CRLF throughout and rarely has a
line starting with a dot, so ``payload`` checks that with four C-level scans (about
60 µs for 45 KB) and hands the bytes on unchanged; it doubles the dots with one
``bytes.replace`` when the lines are clean CRLF, and takes aiosmtplib's own functions for
anything else (a lone CR or LF, no final CRLF). ``tests/deliver/test_wire_bytes.py``
compares what an aiosmtpd server receives from both paths.
"""

from __future__ import annotations

import re

from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

FINAL_DOT = b".\r\n"  # after the payload's last CRLF: the end of the data (RFC 5321 4.1.1.4)
_BARE_CR = re.compile(rb"\r(?!\n)")  # a CR not followed by LF (a literal first: a fast scan)
_DOT_LINE = re.compile(rb"\n\.")  # a line after the first that starts with a dot


def payload(data: bytes) -> bytes:
    """``data`` as it goes on the wire after the 354, without the final ``.CRLF``: lone
    CR and LF made CRLF, a CRLF at the end, a leading dot doubled on every line. The very
    object ``data`` when nothing needs changing."""
    if not data.endswith(b"\r\n") or _BARE_CR.search(data) is not None:
        return _library(data)
    # No lone CR, so every CR is in a CRLF: as many CRs as LFs means no lone LF either.
    if data.count(b"\r") != data.count(b"\n"):
        return _library(data)
    if _DOT_LINE.search(data) is None:
        return b"." + data if data.startswith(b".") else data
    stuffed = data.replace(b"\n.", b"\n..")  # every line but the first starts after an LF
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def _library(data: bytes) -> bytes:
    """aiosmtplib's own encoding (``SMTPProtocol.execute_data_command``), final dot aside."""
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data))


def wire_body(data: bytes) -> bytes:
    """The whole DATA payload with its terminating ``.CRLF`` (one copy of the message)."""
    return payload(data) + FINAL_DOT
