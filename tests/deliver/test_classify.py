"""The refusal rule (``deliver.classify``): what a reply says and about whom, as a table."""

from __future__ import annotations

import pytest

from newsletter.deliver.classify import (
    Refusal,
    RefusalStage,
    counted_bounce,
    enhanced_status,
    is_throttle,
    outcome_for,
    refusal,
)

TABLE: list[tuple[int, RefusalStage, str, str, str | None]] = [
    # code, stage, text, scope, bounce
    (550, "rcpt", "5.1.1 <a@example.org>: Recipient address rejected: User unknown", "recipient", "hard"),
    (550, "rcpt", "Requested action not taken: mailbox unavailable", "recipient", "hard"),
    # sisimai: no phrase names a reason (onhold), so it counts but only as soft
    (553, "rcpt", "mailbox name not allowed", "recipient", "soft"),
    # the reason, not the code, decides: a 5.1.1 that says the mailbox is full is soft
    (550, "rcpt", "5.1.1 <a@example.org>: Mailbox is full", "recipient", "soft"),
    (550, "rcpt", "5.1.10 Recipient address has null MX", "recipient", "hard"),
    (554, "rcpt", "delivery error: dd This user doesn't have a yahoo.com account", "recipient", "hard"),
    (501, "rcpt", "5.1.3 Bad recipient address syntax", "recipient", "hard"),
    (550, "body", "5.1.1 RESOLVER.ADR.RecipNotFound; not found", "recipient", "hard"),
    # RFC 3463: 5.2.1 "may be a permanent error ... or a transient error": soft (sisimai: suspend)
    (550, "rcpt", "5.2.1 The email account that you tried to reach is disabled", "recipient", "soft"),
    (552, "body", "5.2.2 The email account that you tried to reach is over quota", "recipient", "soft"),
    (552, "body", "5.2.3 Message size exceeds fixed maximum message size", "message", None),
    (554, "data", "Transaction failed", "message", None),
    (554, "body", "5.7.1 Message rejected as spam", "message", None),
    (550, "rcpt", "5.7.1 Service unavailable; client host blocked using zen.spamhaus.org", "message", None),
    (550, "body", "5.7.26 Unauthenticated email is not accepted (DMARC)", "message", None),
    (554, "body", "5.6.0 Message content rejected", "message", None),
    (550, "rcpt", "5.4.4 Unable to route", "message", None),
    (554, "rcpt", "5.7.1 <a@example.org>: Relay access denied", "sender", None),
    (553, "rcpt", "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", "sender", None),
    (550, "rcpt", "relaying denied", "sender", None),
    (500, "data", "5.5.1 Command unrecognized", "sender", None),
    (501, "mail", "5.5.4 Syntax error in parameters", "sender", None),
    (500, "data", "Syntax error, command unrecognised", "sender", None),
    (554, "body", "5.3.0 Mail system full", "sender", None),
    (552, "body", "5.3.4 Message too big for system", "sender", None),
    (550, "mail", "5.7.1 Sender address rejected: not owned by user", "sender", None),
    (553, "rcpt", "5.1.7 Invalid sender address", "sender", None),
    (530, "mail", "5.7.0 Authentication required", "sender", None),
    (535, "connect", "5.7.8 Authentication credentials invalid", "sender", None),
    (550, "rcpt", "5.7.8 authentication required", "sender", None),
    (554, "connect", "No SMTP service here", "sender", None),
    (451, "rcpt", "4.7.1 Greylisted, please try again later", "transient", None),
    (452, "rcpt", "4.2.2 Mailbox full", "transient", None),
    (552, "rcpt", "5.2.2 Mailbox full", "transient", None),  # RFC 5321 4.5.3.1.10: as 452
    (421, "mail", "4.7.0 Too many connections", "transient", None),
    # a delivery report (DSN): no send-time setup to blame, a temporary code is soft
    (550, "report", "5.1.1 user unknown", "recipient", "hard"),
    (451, "report", "4.4.7 Message expired", "transient", "soft"),
    (550, "report", "5.7.1 relaying denied", "message", None),
    (554, "report", "5.3.0 other mail system problem", "message", None),
]  # fmt: skip


@pytest.mark.parametrize(("code", "stage", "text", "scope", "bounce"), TABLE)
def test_what_a_refusal_says_and_about_whom(
    code: int, stage: RefusalStage, text: str, scope: str, bounce: str | None
) -> None:
    meaning = refusal(code, enhanced_status(text), stage, text)
    assert (meaning.scope, meaning.bounce) == (scope, bounce), meaning.reason


def test_only_real_refusals_are_classified() -> None:
    for code in (250, 354, 399, 600, -1):
        with pytest.raises(ValueError):
            refusal(code, None, "rcpt", "x")


def test_enhanced_status_is_read_from_the_start_of_the_text() -> None:
    assert enhanced_status("5.1.1 user unknown") == "5.1.1"
    assert enhanced_status(" 4.7.1 later") == "4.7.1"
    assert enhanced_status("5.7.26 DMARC") == "5.7.26"
    assert enhanced_status("user unknown (#5.1.1)") is None
    assert enhanced_status("5.1.1234 nope") is None


HARD = Refusal("recipient", "hard", "x")


@pytest.mark.parametrize(
    ("meaning", "report", "received", "other_day", "counted"),
    [
        (HARD, False, True, False, "soft"),  # one refusal, reader had mail: not enough
        (HARD, False, True, True, "hard"),  # refused on two different days
        (HARD, False, False, False, "hard"),  # never received anything: a dead address
        (HARD, True, True, False, "hard"),  # a delivery report says so
        (Refusal("recipient", "soft", "full"), False, False, False, "soft"),
        (Refusal("message", None, "spam"), False, False, True, None),
        (Refusal("sender", None, "relay"), True, False, True, None),
        (Refusal("transient", None, "greylisted"), False, False, True, None),
    ],
)
def test_one_refusal_is_not_enough_to_drop_a_reader_who_has_had_mail(
    meaning: Refusal, report: bool, received: bool, other_day: bool, counted: str | None
) -> None:
    assert (
        counted_bounce(
            meaning,
            from_report=report,
            received_before=received,
            refused_on_another_day=other_day,
        )
        == counted
    )


@pytest.mark.parametrize(
    ("code", "stage", "throttle"),
    [
        (421, "rcpt", True),
        (454, "rcpt", True),
        (451, "connect", True),
        (451, "mail", True),
        (452, "data", True),
        (451, "rcpt", False),  # greylisting: that recipient only
        (452, "rcpt", False),
        (450, "body", False),
        (550, "mail", False),
        (None, "connect", False),
    ],
)
def test_only_replies_about_the_sender_slow_everyone_down(
    code: int | None, stage: str, throttle: bool
) -> None:
    assert is_throttle(code, stage) is throttle  # type: ignore[arg-type]


def test_outcome_after_the_body_is_unknown_unless_the_reply_is_an_answer() -> None:
    assert [outcome_for(c, "body") for c in (250, 451, 554, -1, 199, 354, 999)] == [
        "sent", "deferred", "failed", "unknown", "unknown", "unknown", "unknown",
    ]  # fmt: skip
    assert outcome_for(999, "rcpt") == "deferred"
