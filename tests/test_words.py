"""Correct English for counts (issue 14, item 8): "1 paper", "1 reply", never "1 papers"
or "repl(y/ies)"."""

from __future__ import annotations

from newsletter.inbox.process import InboxReport
from newsletter.words import plural


def test_plural() -> None:
    assert plural(1, "paper") == "1 paper"
    assert plural(0, "paper") == "0 papers"
    assert plural(2, "message") == "2 messages"
    assert plural(1, "reply", "replies") == "1 reply"
    assert plural(3, "reply", "replies") == "3 replies"
    assert plural(-1, "row") == "-1 row"


def test_the_inbox_summary_counts_in_words() -> None:
    report = InboxReport(messages=1, commands=1, replies_sent=1, bounces=2)
    summary = report.summary()
    assert summary.startswith("1 message: 1 command, 0 confirmations asked, 2 bounces")
    assert summary.endswith("; 1 reply sent")
    assert "(s)" not in summary and "y/ies" not in summary
