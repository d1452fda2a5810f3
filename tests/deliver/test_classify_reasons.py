"""sisimai's reason model (``deliver.reasons``) and the one hard/soft rule
(``deliver.classify.bounce_for_reason``), rule by rule."""

from __future__ import annotations

import pytest

from newsletter.deliver.classify import bounce_for_reason
from newsletter.deliver.reason_table import PHRASES, STANDARD_CODES
from newsletter.deliver.reasons import (
    MATCH_ORDER,
    TRUE_ORDER,
    Failure,
    find_command,
    find_reply,
    find_status,
    matches,
    prefer,
    reason_of,
)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("550 5.1.1 <a@example.org>... User unknown", "5.1.1"),
        ("554 5.0.0 Service unavailable; 550 5.7.1 refused", "5.7.1"),  # x.0.0 only as last
        ("554 5.0.0 Service unavailable", "5.0.0"),
        ("host [10.5.1.1] said: 550 no", ""),  # part of an IPv4 address
        ("Mailer v5.1.1 said 452 4.2.2 over quota", "4.2.2"),  # a version number
        ("550-5.7.26 unauthenticated", "5.7.26"),
        ("5.1.1234 is no code", ""),
    ],
)
def test_the_status_code_in_a_text(text: str, status: str) -> None:
    assert find_status(text) == status


def test_the_reply_code_in_a_text_and_of_the_status_class() -> None:
    assert find_reply("550-5.7.1 blocked") == "550"
    assert find_reply("host said: 452 4.2.2 full", "4.2.2") == "452"
    assert find_reply("version 5.5.0.550 only") == ""
    assert find_reply("X-Unix; 550") == ""


@pytest.mark.parametrize(
    ("field", "in_text", "reply", "believed"),
    [
        ("5.0.0", "5.1.1", "550", "5.1.1"),  # a vague Status gives way
        ("5.1.1", "5.0.0", "550", "5.1.1"),  # ... and is not taken over a precise one
        ("4.4.7", "4.2.2", "452", "4.2.2"),  # 4.4.7 is ambiguous
        ("5.3.0", "5.1.1", "550", "5.1.1"),  # 5.3.x is the mail system's
        ("5.1.1", "5.2.2", "552", "5.2.2"),
        ("5.7.1", "4.4.1", "450", "4.4.1"),  # the reply's class decides
        ("", "5.1.1", "", "5.1.1"),
        ("5.2.2", "", "", "5.2.2"),
    ],
)
def test_which_code_to_believe(field: str, in_text: str, reply: str, believed: str) -> None:
    assert prefer(field, in_text, reply) == believed


def test_the_last_smtp_command_a_text_names() -> None:
    assert find_command("said: 550 no (in reply to RCPT TO command)") == "RCPT"
    assert find_command("said: 550 no (in reply to end of DATA command)") == "DATA"
    assert find_command("MAIL FROM:<a@b> then RCPT TO:<c@d>") == "RCPT"
    assert find_command("the mailbox is full") == ""


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        # the order of sisimai's true() rules: mailboxfull before userunknown
        (Failure("5.1.1", "550 5.1.1 user unknown; mailbox is full"), "mailboxfull"),
        (Failure("5.1.1", "550 5.1.1 user unknown"), "userunknown"),
        # a user-unknown text is proof only with a 5.1 status or at RCPT; else filtered
        (Failure("5.0.0", "550 user unknown", "RCPT"), "userunknown"),
        (Failure("5.0.0", "550 user unknown", "DATA"), "filtered"),
        (Failure("5.0.0", "550 user unknown"), "filtered"),
        (Failure("5.0.0", "550 user unknown", "MAIL"), "onhold"),
        # userunknown by status, unless the text names another reason
        (Failure("5.1.1", "550 5.1.1 relay access denied", "RCPT"), "norelaying"),
        (Failure("5.2.1", "550 5.2.1 the email account that you tried to reach is disabled"),
         "suspend"),
        (Failure("5.1.2", "550 5.1.2 host unknown"), "hostunknown"),
        (Failure("5.0.0", "550 host or domain name not found"), "hostunknown"),
        (Failure("5.7.1", "554 5.7.1 message content rejected", "DATA"), "spamdetected"),
        (Failure("5.7.1", "554 5.7.1 refused"), "securityerror"),  # the status class
        (Failure("5.6.0", "554 5.6.0 bad"), "contenterror"),
        (Failure("5.0.0", "x-unix; 255", diagnostic_type="X-UNIX"), "mailererror"),
        (Failure("5.0.0", "503 bad sequence", reply_code="503"), "syntaxerror"),
        (Failure("4.0.0", "", action="delayed"), "expired"),
        (Failure("5.0.0", "550 refused", "EHLO"), "blocked"),
        (Failure("5.0.0", "550 no"), "onhold"),
        (Failure("5.0.0", ""), "undefined"),
        (Failure("2.0.0", "250 ok"), "delivered"),
        # a notice's own reason stands unless sisimai checks it again
        (Failure("5.1.1", "550 user unknown", preset="mailboxfull"), "mailboxfull"),
        (Failure("5.2.2", "552 5.2.2 full", preset="onhold"), "mailboxfull"),
    ],
)  # fmt: skip
def test_the_reason_as_sisimai_finds_it(failure: Failure, reason: str) -> None:
    assert reason_of(failure) == reason


@pytest.mark.parametrize(
    ("reason", "codes", "bounce"),
    [
        ("userunknown", "5.1.1 user unknown", "hard"),
        ("hostunknown", "", "hard"),
        ("hasmoved", "5.1.6", "hard"),
        ("notaccept", "5.1.10 null MX", "hard"),
        ("notaccept", "4.3.2 not accepting", "soft"),
        ("notaccept", "host is temporarily not accepting mail", "soft"),
        ("notaccept", "", "hard"),
        ("mailboxfull", "5.2.2", "soft"),
        ("filtered", "5.0.0", "soft"),
        ("onhold", "", "soft"),
        ("undefined", "", "soft"),
        ("delivered", "2.0.0", None),
        ("vacation", "", None),
        ("feedback", "", None),
    ],
)
def test_only_reasons_about_the_address_are_hard(
    reason: str, codes: str, bounce: str | None
) -> None:
    assert bounce_for_reason(reason, codes) == bounce


def test_the_data_is_sisimais_and_complete() -> None:
    for name in (*TRUE_ORDER, *MATCH_ORDER):
        assert name in PHRASES, name
    for name, phrases in PHRASES.items():
        for phrase in (*phrases.index, *phrases.isnot, *(p for ps in phrases.pairs for p in ps)):
            assert phrase == phrase.lower() and phrase, name
    assert set(STANDARD_CODES.values()) <= {*PHRASES, "delivered", "syntaxerror", "hasmoved"}
    assert matches("userunknown", "550 5.1.1 <a@b>: recipient address rejected: user unknown")
    assert matches("userunknown", "this user doesn't have a yahoo.com account")  # a pair
    assert not matches("rejected", "recipient address rejected")  # an isnot phrase
