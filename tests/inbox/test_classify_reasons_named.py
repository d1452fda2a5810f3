"""Reasons a postmaster would question, each checked on a report written here in its
server's style: Exchange Online's 5.1.10 RecipientNotFound is userunknown (sisimai's
Microsoft rules; RFC 7505's null MX only when the text says so), "Spam message rejected"
without sisimai's full stop is spamdetected, Exim's "retry timeout exceeded" is expired, and
a smarthost's "530 5.7.0 Authentication required" is our setup's problem: a warning with
reason authfailure, never scored against the reader."""

from __future__ import annotations

import pytest

from newsletter.deliver.reasons import Failure, reason_of
from tests.inbox import mail
from tests.inbox.test_classify_notices import notice, parsed


def report(recipient: str, status: str, diagnostic: str) -> bytes:
    return mail.dsn(recipient, status, diagnostic=f"smtp; {diagnostic}")


@pytest.mark.parametrize(
    ("status", "diagnostic", "kind", "reason"),
    [
        ("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
         "address lookup", "hard", "userunknown"),
        ("5.1.10", "550 5.1.10 Recipient address rejected: domain has a null MX (RFC 7505) "
         "and does not accept mail (nullMX)", "hard", "notaccept"),
        ("5.7.1", "554 5.7.1 Spam message rejected", "soft", "spamdetected"),
        ("5.7.1", "554 5.7.1 Spam message rejected. See our policy", "soft", "spamdetected"),
        ("5.7.1", "554 5.7.1 Spam message rejectedness unknown", "soft", "securityerror"),
        ("5.7.0", "530 5.7.0 Authentication required", "warning", "authfailure"),
        ("5.7.8", "535 5.7.8 Error: authentication failed", "warning", "authfailure"),
    ],
)  # fmt: skip
def test_a_reports_reason_is_the_one_a_postmaster_would_name(
    status: str, diagnostic: str, kind: str, reason: str
) -> None:
    found = parsed(report("kate@example.net", status, diagnostic))
    assert (found.kind, found.reason) == (kind, reason)
    if kind == "warning":
        assert not found.is_failure and [r.kind for r in found.per_recipient] == ["warning"]


EXIM_GAVE_UP = """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  kate@example.net
    retry timeout exceeded
"""


def test_exims_retry_timeout_is_expired_and_soft() -> None:
    found = parsed(
        notice(
            "Mail Delivery System <Mailer-Daemon@mx.example.org>",
            "Mail delivery failed: returning message to sender",
            EXIM_GAVE_UP,
            extra="X-Failed-Recipients: kate@example.net\r\n",
        )
    )
    assert (found.kind, found.recipients, found.reason) == (
        "soft",
        ("kate@example.net",),
        "expired",
    )


def test_a_notice_formats_reason_stands_only_when_no_status_code_says_otherwise() -> None:
    assert reason_of(Failure("", "retry timeout exceeded", preset="expired")) == "expired"
    assert reason_of(Failure("5.1.1", "user unknown", command="RCPT", preset="expired")) == (
        "userunknown"
    )
