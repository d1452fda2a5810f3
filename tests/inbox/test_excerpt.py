"""``classify.excerpt``: every header and the first 64 KiB of each MIME body, so a large
message is classified from what matters (the speed is measured in
``bench/classify_large.py``)."""

from __future__ import annotations

import email
from email import policy

import pytest

from bench.classify_large import bounce, reply
from newsletter.inbox.classify import classify
from newsletter.inbox.classify.excerpt import DEPTH_LIMIT, HEADER_LIMIT, PART_LIMIT, excerpt, parse
from newsletter.inbox.classify.reports import returned_headers

SIZE = 1024 * 1024


def test_a_bounce_returning_a_large_message_keeps_every_header_and_the_same_answer() -> None:
    raw = bounce(SIZE)
    cut = excerpt(raw)
    assert len(cut) < 4 * PART_LIMIT < len(raw)
    whole = classify(email.message_from_bytes(raw, policy=policy.compat32))
    read = classify(parse(raw))
    assert (read.kind, read.recipients, read.status, read.reason) == (
        whole.kind, whole.recipients, whole.status, whole.reason,
    )  # fmt: skip
    assert read.message_ids == whole.message_ids == ("<d1@papers.example.org>",)
    (returned,) = returned_headers(parse(raw))
    assert returned["Subject"] == "Today's papers"


def test_a_cut_body_is_a_prefix_of_the_original_and_still_decodes() -> None:
    raw = reply(SIZE)
    original = email.message_from_bytes(raw, policy=policy.default)
    cut = email.message_from_bytes(excerpt(raw), policy=policy.default)
    assert [p.get_content_type() for p in cut.walk()] == [
        p.get_content_type() for p in original.walk()
    ]
    (attachment,) = [p for p in cut.walk() if p.get_filename() == "mine.pdf"]
    (full,) = [p for p in original.walk() if p.get_filename() == "mine.pdf"]
    data, everything = attachment.get_payload(decode=True), full.get_payload(decode=True)
    assert isinstance(data, bytes) and isinstance(everything, bytes)
    assert 0 < len(data) <= PART_LIMIT and everything.startswith(data)
    assert classify(parse(raw)).kind == "reply"
    assert cut.get_body(("plain",)).get_content() == "Here is the paper I mentioned.\n"


def test_a_small_message_is_read_whole() -> None:
    raw = b"From: a@example.net\r\nSubject: hi\r\n\r\n" + b"x" * 100 + b"\r\n"
    assert excerpt(raw) is raw


def test_a_long_single_part_body_is_cut_at_a_line() -> None:
    line = b"word " * 15 + b"\r\n"
    raw = b"From: a@example.net\r\nSubject: hi\r\n\r\n" + line * 20_000
    cut = excerpt(raw)
    head, _, body = cut.partition(b"\r\n\r\n")
    assert head == b"From: a@example.net\r\nSubject: hi"
    assert len(body) <= PART_LIMIT and body == line * (len(body) // len(line))


def nested(levels: int, sender: str = "MAILER-DAEMON@mx.example.net") -> bytes:
    """A message of ``levels`` multiparts, each the only part of the one around it."""
    head = f"From: {sender}\r\nTo: papers@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="n{i}"\r\n\r\n--n{i}\r\n' for i in range(levels)
    )
    closing = "".join(f"\r\n--n{i}--\r\n" for i in reversed(range(levels)))
    return (head + opening + "Content-Type: text/plain\r\n\r\ndeep text\r\n" + closing).encode()


def test_multiparts_nested_deeper_than_the_limit_are_kept_as_headers_only() -> None:
    raw = nested(DEPTH_LIMIT + 900)  # 1 000 levels: the standard parser alone recurses too deep
    with pytest.raises(RecursionError):
        email.message_from_bytes(raw, policy=policy.compat32)
    message = parse(raw)
    depth = 0
    part = message
    while part.is_multipart():
        (part,) = part.get_payload()
        depth += 1
    assert depth == DEPTH_LIMIT
    assert b"deep text" not in excerpt(raw)
    assert classify(message).kind in ("soft", "other")


def test_multiparts_within_the_limit_are_read_whole() -> None:
    raw = nested(DEPTH_LIMIT - 1)
    assert excerpt(raw) == raw
    assert "deep text" in str(parse(raw))


def test_a_header_is_read_up_to_its_first_16_kib() -> None:
    words = " ".join(["=?UTF-8?B?QUFB?="] * 200_000)  # 3.4 MB: 52 s of CPU to decode whole
    raw = f"From: a@example.net\r\nSubject: {words}\r\nTo: papers@example.org\r\n\r\nhi\r\n"
    cut = excerpt(raw.encode())
    subject = parse(raw.encode())["Subject"]
    assert HEADER_LIMIT - 20 < len(subject) <= HEADER_LIMIT
    assert subject.endswith("=?UTF-8?B?QUFB?=")  # cut between words, never inside one
    assert cut.endswith(b"\r\nTo: papers@example.org\r\n\r\nhi\r\n")
    folded = "From: a@example.net\r\nSubject: " + "\r\n ".join(["=?UTF-8?B?QUFB?="] * 5_000)
    kept = parse((folded + "\r\n\r\n" + "x\r\n" * 30_000).encode())["Subject"]
    assert HEADER_LIMIT - 40 < len(kept) <= HEADER_LIMIT
