"""What of a raw message the classifier reads: every header field (its first
``HEADER_LIMIT`` bytes), at most ``PART_LIMIT`` bytes of each MIME body, and MIME parts nested
at most ``DEPTH_LIMIT`` deep. Pure.

A bounce that returns a 20 MB message, or a reply with a 20 MB attachment, is decided by its
headers, its own short text, its delivery-status part and the returned message's headers:
all near the start of their parts. Reading the rest costs time and nothing else
(``flufl.bounce``'s detectors read every body line: about a second per MB). ``excerpt``
keeps every header block (of the message, of each part, of each returned message) and the
first ``PART_LIMIT`` bytes of each body, whole lines only, so base64 and quoted-printable
still decode; MIME boundaries (RFC 2046 section 5.1.1) are found in the headers it keeps.
The message as received (forwarding, its SHA-256 identity) is never changed.

Two bounds keep hostile input cheap, whatever its size:

- ``HEADER_LIMIT``: a header field is kept up to its first 16 KiB (whole folded lines). A
  Subject of 200 000 encoded-words (3.4 MB) took 52 s of CPU to decode (the standard
  library's ``decode_header`` is quadratic in the number of words); no real notice or reply
  needs more than the first lines of a field (bench/classify_large.py --header).
- ``DEPTH_LIMIT``: multiparts nested deeper than 100 (Postfix's ``mime_nesting_limit``) are
  kept as their headers only: the standard library's parser recurses once per level and
  1 000 levels raise RecursionError.
"""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message
from email.policy import Policy, compat32

PART_LIMIT = 64 * 1024
HEADER_LIMIT = 16 * 1024
DEPTH_LIMIT = 100
_BOUNDARY = re.compile(rb"""\bboundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""", re.I)


def excerpt(
    raw: bytes,
    part_limit: int = PART_LIMIT,
    header_limit: int | None = HEADER_LIMIT,
    depth_limit: int = DEPTH_LIMIT,
) -> bytes:
    """``raw`` with each MIME body cut to its first lines of at most ``part_limit`` bytes
    (a line longer than that is kept whole when it is a body's first), each header field cut
    to its first lines of at most ``header_limit`` bytes (None: whole), and the bodies of
    multiparts nested deeper than ``depth_limit`` dropped; part headers and boundary lines
    of the kept parts always kept. ``raw`` itself when it is no longer than ``part_limit``
    and declares no more than ``depth_limit`` boundaries."""
    if len(raw) <= part_limit and raw.lower().count(b"boundary") <= depth_limit:
        return raw
    open_: list[bytes] = []  # boundaries of the multiparts we are inside, outermost first
    kept: list[bytes] = []
    in_headers, too_deep, skipping = True, False, False
    body_bytes = field_bytes = 0
    for line in raw.splitlines(keepends=True):
        bare = line.rstrip()
        closing = bare[-2:] == b"--" and bare[2:-2] in open_
        if bare[:2] == b"--" and (closing or bare[2:] in open_):
            at = open_.index(bare[2:-2] if closing else bare[2:])
            del open_[at if closing else at + 1 :]
            kept.append(line)
            in_headers, too_deep, skipping = not closing, False, False
            body_bytes = field_bytes = 0
            continue
        if skipping:
            continue
        if in_headers:
            folded = line[:1] in (b" ", b"\t")
            field_bytes = field_bytes + len(line) if folded else len(line)
            if header_limit is not None and field_bytes > header_limit:
                if folded:
                    continue
                line = _cut(line, header_limit)
            kept.append(line)
            if not bare:
                in_headers, skipping, body_bytes = False, too_deep, 0
            elif not _note_boundary(line, open_, depth_limit):
                too_deep = True
            continue
        if body_bytes and body_bytes + len(line) > part_limit:
            skipping = True  # the body's first lines only: a later short line is no prefix
            continue
        kept.append(line)
        body_bytes += len(line)
        # a returned message's own headers are body here
        skipping = not _note_boundary(line, open_, depth_limit)
    return b"".join(kept)


def _cut(line: bytes, limit: int) -> bytes:
    """The first ``limit`` bytes of a header line, cut after its last space, with its line
    ending."""
    head = line[:limit]
    space = head.rfind(b" ")
    ending = line[len(line.rstrip(b"\r\n")) :]
    return (head[:space] if space > 0 else head) + ending


def _note_boundary(line: bytes, open_: list[bytes], depth_limit: int) -> bool:
    """Open the boundaries ``line`` declares; False when one is nested too deep (not opened)."""
    if b"oundary" not in line and b"OUNDARY" not in line:
        return True
    for found in _BOUNDARY.finditer(line):
        name = found.group(1) or found.group(2)
        if name in open_:
            continue
        if len(open_) >= depth_limit:
            return False
        open_.append(name)
    return True


def parse(raw: bytes, policy: Policy = compat32, part_limit: int = PART_LIMIT) -> Message:
    """The message the classifier reads: ``excerpt(raw)`` parsed with ``policy``."""
    return message_from_bytes(excerpt(raw, part_limit), policy=policy)
