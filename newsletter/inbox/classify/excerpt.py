"""What of a raw message the classifier reads: every header, and at most ``PART_LIMIT``
bytes of each MIME body. Pure.

A bounce that returns a 20 MB message, or a reply with a 20 MB attachment, is decided by its
headers, its own short text, its delivery-status part and the returned message's headers:
all near the start of their parts. Reading the rest costs time and nothing else
(``flufl.bounce``'s detectors read every body line: about a second per MB). ``excerpt``
keeps every header block (of the message, of each part, of each returned message) and the
first ``PART_LIMIT`` bytes of each body, whole lines only, so base64 and quoted-printable
still decode; MIME boundaries (RFC 2046 section 5.1.1) are found in the headers it keeps.
The message as received (forwarding, its SHA-256 identity) is never changed.
"""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message
from email.policy import Policy, compat32

PART_LIMIT = 64 * 1024
_BOUNDARY = re.compile(rb"""\bboundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""", re.I)


def excerpt(raw: bytes, part_limit: int = PART_LIMIT) -> bytes:
    """``raw`` with each MIME body cut to its first lines of at most ``part_limit`` bytes
    (a line longer than that is kept whole when it is a body's first); headers, part headers
    and boundary lines always kept. ``raw`` itself when it is no longer than ``part_limit``."""
    if len(raw) <= part_limit:
        return raw
    boundaries: set[bytes] = set()
    kept: list[bytes] = []
    in_headers = True
    body_bytes = 0
    for line in raw.splitlines(keepends=True):
        bare = line.rstrip()
        if in_headers:
            kept.append(line)
            _note_boundary(line, boundaries)
            if not bare:
                in_headers, body_bytes = False, 0
            continue
        if bare[:2] == b"--" and (bare[2:] in boundaries or bare[2:-2] in boundaries):
            kept.append(line)
            closing = bare[2:] not in boundaries
            in_headers, body_bytes = not closing, 0
            continue
        if body_bytes and body_bytes + len(line) > part_limit:
            continue
        kept.append(line)
        body_bytes += len(line)
        _note_boundary(line, boundaries)  # a returned message's own headers are body here
    return b"".join(kept)


def _note_boundary(line: bytes, boundaries: set[bytes]) -> None:
    if b"oundary" in line or b"OUNDARY" in line:
        for found in _BOUNDARY.finditer(line):
            boundaries.add(found.group(1) or found.group(2))


def parse(raw: bytes, policy: Policy = compat32, part_limit: int = PART_LIMIT) -> Message:
    """The message the classifier reads: ``excerpt(raw)`` parsed with ``policy``."""
    return message_from_bytes(excerpt(raw, part_limit), policy=policy)
