"""``classify.excerpt``: every header and the first 64 KiB of each MIME body, so a large
message is classified from what matters (the speed is measured in
``bench/classify_large.py``)."""

from __future__ import annotations

import email
from email import policy

from bench.classify_large import bounce, reply
from newsletter.inbox.classify import classify
from newsletter.inbox.classify.excerpt import PART_LIMIT, excerpt, parse
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
