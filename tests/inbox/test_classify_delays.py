"""Delay warnings in text form are warnings: recorded, never scored (issue 15, "only failures
count"; sisimai: delayed). Each notice is written here in the style its server documents
(Exim's deliver.c warning, Sendmail's "could not send message for past N hours", Postfix's
"Delayed Mail (still being retried)", Exchange's "Delivery delayed"), without an RFC 3464
report part; and the notices and replies that must stay what they are."""

from __future__ import annotations

import pytest

from tests.inbox.test_classify_notices import notice, parsed

EXIM_DELAY = """This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.example.org.

The address to which the message has not yet been delivered is:

  kate@example.net
    host mx.example.net [192.0.2.25]
    Delay reason: SMTP error from remote mail server after RCPT TO:<kate@example.net>:
    451 4.7.1 Try again later

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered.
"""
SENDMAIL_DELAY = """**********************************************
**      THIS IS A WARNING MESSAGE ONLY      **
**  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **
**********************************************

The original message was received at Mon, 30 Nov 2026 02:00:00 GMT
   ----- Transcript of session follows -----
<kate@example.net>... Deferred: Connection timed out with mx.example.net.
Warning: message still undelivered after 4 hours
Will keep trying until message is 5 days old
"""
POSTFIX_DELAY = """This is the mail system at host mx.example.org.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

<kate@example.net>: connect to mx.example.net[192.0.2.25]:25: Connection timed out
"""
EXCHANGE_DELAY = """Delivery is delayed to these recipients or groups:

kate@example.net

Subject: Today's papers

This message hasn't been delivered yet. Delivery will continue to be attempted.
The server will keep trying to deliver this message for the next 1 days, 19 hours.
"""

DELAYS = [
    ("Mail Delivery System <Mailer-Daemon@mx.example.org>",
     "Warning: message 1kXyZa-0001Ab-Cd delayed 24 hours", EXIM_DELAY, "4.7.1"),
    ("Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>",
     "Warning: could not send message for past 4 hours", SENDMAIL_DELAY, ""),
    ("MAILER-DAEMON@mx.example.org (Mail Delivery System)",
     "Delayed Mail (still being retried)", POSTFIX_DELAY, ""),
    ("postmaster@example.org", "Delivery delayed:Today's papers", EXCHANGE_DELAY, ""),
]  # fmt: skip


@pytest.mark.parametrize(("sender", "subject", "body", "status"), DELAYS)
def test_a_delay_warning_in_text_form_is_a_warning_for_its_recipient(
    sender: str, subject: str, body: str, status: str
) -> None:
    found = parsed(notice(sender, subject, body))
    assert (found.kind, found.recipients, found.reason) == (
        "warning",
        ("kate@example.net",),
        "delayed",
    )
    assert found.status == status
    assert [r.kind for r in found.per_recipient] == ["warning"]
    assert not found.is_failure


def test_the_same_server_giving_up_is_still_a_failure() -> None:
    given_up = EXIM_DELAY.replace("451 4.7.1 Try again later", "550 5.1.1 No such user")
    found = parsed(notice(DELAYS[0][0], "Mail delivery failed: returning message to sender",
                          given_up.replace("has not yet been delivered", "could not be delivered")))  # fmt: skip
    assert found.kind == "hard"
    # A delay subject whose text quotes a permanent refusal is no mere warning either.
    assert parsed(notice(DELAYS[0][0], DELAYS[0][1], given_up)).is_failure


def test_a_persons_reply_about_a_delay_is_a_reply() -> None:
    said = notice("Kate <kate@example.net>", "Re: Delivery delayed", "Mine came late too.",
                  return_path="kate@example.net")  # fmt: skip
    found = parsed(said)
    assert found.kind == "reply"
