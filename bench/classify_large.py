"""CPU time to classify large messages, whole versus excerpt (``classify.excerpt``).

    .venv/bin/python -m bench.classify_large                 # 1, 5 and 20 MB, 3 runs each arm
    .venv/bin/python -m bench.classify_large --mb 20 --runs 5
    .venv/bin/python -m bench.classify_large --header 25000 50000 --runs 3

Two messages of each size, built here: a bounce that returns our message with a large PDF
attached (``message/rfc822``), and a person's reply with a large attachment. Each arm parses
the raw bytes and classifies them, as ``newsletter inbox classify`` and the inbox do:
``whole`` parses every byte (``email.message_from_bytes``), ``excerpt`` parses every header and
the first 64 KiB of each MIME body. The arms alternate run by run (whole, excerpt, whole, ...)
so that a load change on this shared machine hits both; the figures are process CPU time
(``time.process_time``): median and range, and the ratio of the medians. Both arms must give
the same kind, recipients and quoted Message-IDs (checked).

``--header N...``: a notice whose Subject is N encoded-words (``=?UTF-8?B?QUFB?=``, 17 bytes
each, on one line, as a hostile sender may write it); the arms are ``uncapped`` (the excerpt
with every header field whole) and ``capped`` (its first ``HEADER_LIMIT`` bytes, as
classified). The standard library's ``decode_header`` is quadratic in the number of words.
"""

from __future__ import annotations

import argparse
import email
import os
import random
import statistics
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage, Message

from newsletter.inbox.classify import Classification, classify
from newsletter.inbox.classify.excerpt import excerpt, parse


def returned(size: int) -> EmailMessage:
    inner = EmailMessage()
    inner["From"] = "Papers <papers@example.org>"
    inner["To"] = "kate@example.net"
    inner["Subject"] = "Today's papers"
    inner["Message-ID"] = "<d1@papers.example.org>"
    inner.set_content("The day's papers.\n")
    data = random.Random(size).randbytes(size)
    inner.add_attachment(data, maintype="application", subtype="pdf", filename="paper.pdf")
    return inner


def bounce(size: int) -> bytes:
    outer = EmailMessage()
    outer["From"] = "MAILER-DAEMON@mx.example.net (Mail Delivery System)"
    outer["To"] = "papers+bounce-k3j2h1@example.org"
    outer["Subject"] = "Undelivered Mail Returned to Sender"
    outer.set_content(
        "This is the mail system at host mx.example.net.\n\n"
        "<kate@example.net>: host mx.example.net[192.0.2.25] said: 552 5.3.4 Message size\n"
        "    exceeds fixed limit (in reply to end of DATA command)\n"
    )
    outer.add_attachment(returned(size))
    return bytes(outer)


def reply(size: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Kate <kate@example.net>"
    message["To"] = "papers+help-k3j2h1@example.org"
    message["Subject"] = "Re: Today's papers"
    message.set_content("Here is the paper I mentioned.\n")
    data = random.Random(size + 1).randbytes(size)
    message.add_attachment(data, maintype="application", subtype="pdf", filename="mine.pdf")
    return bytes(message)


def long_subject(words: int) -> bytes:
    subject = " ".join(["=?UTF-8?B?QUFB?="] * words)
    return (
        "From: MAILER-DAEMON@mx.example.net\r\nTo: papers@example.org\r\n"
        f"Subject: {subject}\r\nMIME-Version: 1.0\r\n\r\nbody\r\n"
    ).encode()


def uncapped(raw: bytes) -> Message:
    return email.message_from_bytes(excerpt(raw, header_limit=None), policy=policy.compat32)


def whole(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=policy.compat32)


def cpu(arm: Callable[[bytes], Message], raw: bytes) -> tuple[float, Classification]:
    start = time.process_time()
    found = classify(arm(raw))
    return time.process_time() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[1, 5, 20])
    parser.add_argument("--header", type=int, nargs="+", default=[], metavar="WORDS")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; CPU seconds, median (min-max) of {args.runs}")
    cases: list[tuple[str, bytes, tuple[tuple[str, Callable[[bytes], Message]], ...]]] = []
    for words in args.header:
        arms = (("uncapped", uncapped), ("capped", parse))
        cases.append((f"subject {words} words", long_subject(words), arms))
    for mb in args.mb if not args.header else []:
        size = int(mb * 1024 * 1024)
        arms = (("whole", whole), ("excerpt", parse))
        cases.extend(
            (name, raw, arms) for name, raw in (("bounce", bounce(size)), ("reply", reply(size)))
        )
    for name, raw, arms in cases:
        times: dict[str, list[float]] = {arm_name: [] for arm_name, _ in arms}
        seen: dict[str, Classification] = {}
        for _ in range(args.runs):
            for arm_name, arm in arms:
                spent, found = cpu(arm, raw)
                times[arm_name].append(spent)
                seen[arm_name] = found
        a, b = (seen[arm_name] for arm_name, _ in arms)
        same = (a.kind, a.recipients, a.message_ids) == (b.kind, b.recipients, b.message_ids)
        cells = [
            f"{arm} {statistics.median(t):7.3f} ({min(t):.3f}-{max(t):.3f})"
            for arm, t in times.items()
        ]
        first, second = (times[arm_name] for arm_name, _ in arms)
        ratio = statistics.median(first) / statistics.median(second)
        print(
            f"{name:6} {len(raw) / 1e6:6.1f} MB  {'  '.join(cells)}  ratio {ratio:6.1f}x"
            f"  kind {b.kind}  same result: {same}"
        )


if __name__ == "__main__":
    main()
