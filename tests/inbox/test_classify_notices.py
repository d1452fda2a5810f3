"""Failure notices of mail servers whose own format is not ported (``classify/notice.py``):
the generic rules, on plain-text notices written here in each server's documented style
(Courier's SMTP transcript, qmail-send, Postfix's bounce text without a report part,
Microsoft 365 and Gmail text), and the messages those rules must leave alone."""

from __future__ import annotations

import email
from email import policy

import pytest

from newsletter.inbox.classify import Classification, classify
from newsletter.inbox.classify.notice import (
    clearly_not_a_failure,
    from_mail_system,
    notice_recipients,
    transcript,
)
from newsletter.inbox.classify.plaintext import human_text

OURS = "papers@example.org"
RETURN_PATH = "papers+bounce-k3j2h1@example.org"


def notice(
    sender: str,
    subject: str,
    body: str,
    *,
    extra: str = "",
    return_path: str = "",
    message_id: str = "<n1@mx.example.net>",
) -> bytes:
    """A text/plain notice to our VERP return path, quoting our message after ``body``."""
    return (
        f"Return-Path: <{return_path}>\r\nFrom: {sender}\r\nTo: {RETURN_PATH}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 30 Nov 2026 03:00:00 +0000\r\nMessage-ID: {message_id}\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n{extra}\r\n"
        f"{body}\r\n"
        f"Return-Path: <{RETURN_PATH}>\r\nFrom: Papers <{OURS}>\r\nTo: kate@example.net\r\n"
        f"Subject: Today's papers\r\nMessage-ID: <d1@papers.example.org>\r\n\r\nHello\r\n"
    ).encode()


def parsed(raw: bytes) -> Classification:
    return classify(email.message_from_bytes(raw, policy=policy.compat32))


COURIER_BODY = """This is a delivery status notification from mx.example.net,
running the Courier mail server, version 1.1.8.

The original message was received on Mon, 30 Nov 2026 02:59:58 +0000
from papers.example.org [192.0.2.10]

---------------------------------------------------------------------------

                           UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<kate@example.net>:
    mx.example.net [192.0.2.25]:
>>> RCPT TO:<kate@example.net>
<<< 550 No such user

---------------------------------------------------------------------------

If your message was also sent to additional recipients, their delivery
status is not included in this report.

--- Original message follows.

"""

QMAIL_BODY = """Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<kate@example.net>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

"""

POSTFIX_BODY = """This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<kate@example.net>: host mx.example.net[192.0.2.25] said: 550 5.1.1
    <kate@example.net>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)

"""

M365_BODY = """Your message to kate@example.net couldn't be delivered.

kate wasn't found at example.net.

papers    Office 365    kate
Action Required                 Recipient

Unknown To address

How to Fix It
The address may be misspelled or may not exist. Try one or more of the following:
Retype the recipient's address, then resend the message.

Diagnostic information for administrators:

Generating server: AM0PR01MB1234.eurprd01.prod.exchangelabs.com

kate@example.net
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'

Original message headers:

"""

GMAIL_BODY = """
** Address not found **

Your message wasn't delivered to kate@example.net because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.google.com/mail/?p=NoSuchUser

The response was:

550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.

"""


@pytest.mark.parametrize(
    "sender",
    [
        "Courier mail server at mx.example.net <@>",
        "<>",
        "MAILER-DAEMON@mx.example.net",
        "Mail Server <postmaster@mx.example.net>",
    ],
)
def test_a_courier_transcript_from_a_mail_system_is_a_hard_bounce_of_the_refused_rcpt(
    sender: str,
) -> None:
    found = parsed(notice(sender, "NOTICE: mail delivery status.", COURIER_BODY))
    assert found.kind == "hard"
    assert found.recipients == ("kate@example.net",)
    assert found.reason == "userunknown"
    assert [(r.recipient, r.kind) for r in found.per_recipient] == [("kate@example.net", "hard")]


def test_a_transcript_from_any_sender_is_a_failure_notice_and_the_refused_command_counts() -> None:
    body = COURIER_BODY.replace(
        ">>> RCPT TO:<kate@example.net>\n<<< 550 No such user",
        ">>> RCPT TO:<kate@example.net>\n<<< 250 Ok\n>>> DATA\n<<< 354 Go ahead\n"
        ">>> (end of data)\n<<< 554 Message refused as spam",
    )
    found = parsed(notice("Mail Robot <robot@mx.example.net>", "Status of your mail", body))
    assert found.kind == "soft"  # the message was refused at DATA, not the address
    assert found.recipients == ("kate@example.net",)


def test_a_transcript_reply_to_a_refused_rcpt_gives_the_transcripts_command_and_address() -> None:
    refused = transcript(
        ">>> MAIL FROM:<papers@example.org>\n<<< 250 ok\n"
        ">>> RCPT TO:<a@example.net>\n<<< 250 ok\n"
        ">>> RCPT TO:<b@example.net>\n<<< 550-5.1.1 No such\n<<< 550 5.1.1 mailbox\n"
    )
    assert [(r.command, r.recipient, r.reply) for r in refused] == [
        ("RCPT", "b@example.net", "550 5.1.1 No such 5.1.1 mailbox")
    ]


def test_a_qmail_notice_with_a_subject_no_rule_knows_is_hard() -> None:
    found = parsed(notice("MAILER-DAEMON@mail.example.net", "Your mail", QMAIL_BODY))
    assert found.kind == "hard"
    assert found.recipients == ("kate@example.net",)
    assert found.status == "5.1.1"


def test_a_qmail_paragraph_in_a_program_notice_is_recognised_by_its_text_alone() -> None:
    found = parsed(notice("Mail System <mail@mail.example.net>", "Returned", QMAIL_BODY))
    assert found.is_failure
    assert found.recipients == ("kate@example.net",)


@pytest.mark.parametrize(
    ("sender", "subject", "body"),
    [
        ("MAILER-DAEMON@mx.example.org (Mail Delivery System)",
         "Undelivered Mail Returned to Sender", POSTFIX_BODY),
        ("postmaster@example.net", "Undeliverable: Today's papers", M365_BODY),
        ("Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
         "Delivery Status Notification (Failure)", GMAIL_BODY),
        ("Courier mail server at mx.example.net <@>", "NOTICE: mail delivery status.",
         COURIER_BODY),
        ("MAILER-DAEMON@mail.example.net", "failure notice", QMAIL_BODY),
    ],
)  # fmt: skip
def test_plain_text_notices_name_their_recipient_and_never_our_addresses(
    sender: str, subject: str, body: str
) -> None:
    found = parsed(notice(sender, subject, body))
    assert found.is_failure
    assert found.recipients == ("kate@example.net",)


def test_the_text_never_gives_the_sender_ours_or_a_mail_systems_address() -> None:
    body = (
        f"Your message from {OURS} to kate@example.net was rejected.\n"
        "Please contact postmaster@example.net if the problem persists: 550 5.1.1.\n"
        f"<{RETURN_PATH}>: the sender\nMAIL FROM:<other-ours@example.org> refused 550\n"
        "--- Below this line is a copy of the message.\n"
        "To: <lee@example.net>\n"
    )
    message = email.message_from_bytes(
        notice("MAILER-DAEMON@mx.example.net", "failure", body), policy=policy.compat32
    )
    assert notice_recipients(message, human_text(message)) == ("kate@example.net",)


def test_a_persons_reply_quoting_a_bounce_stays_a_reply() -> None:
    quoted = "\n".join(f"> {line}" for line in POSTFIX_BODY.splitlines())
    body = f"Why did this bounce?\n\n{quoted}\n"
    kate = "kate@example.net"
    found = parsed(notice(f"Kate <{kate}>", "Re: Today's papers", body, return_path=kate))
    assert found.kind == "reply"
    forwarded = parsed(
        notice(f"Kate <{kate}>", "Fwd: Returned mail", POSTFIX_BODY, return_path=kate)
    )
    assert forwarded.kind == "reply"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("Your message to kate@example.net was delayed. We will keep trying for 5 days.\n"
         "No action is required on your part.\n", "warning"),
        ("Your message was successfully delivered to kate@example.net.\n", "other"),
    ],
)  # fmt: skip
def test_a_mail_systems_message_that_clearly_is_no_failure_is_not_one_nor_a_reply(
    body: str, kind: str
) -> None:
    assert clearly_not_a_failure(body) == kind
    found = parsed(notice("MAILER-DAEMON@mx.example.net", "Mail status", body))
    assert found.kind == kind


def test_a_mail_systems_message_that_says_nothing_clear_is_a_failure_never_a_reply() -> None:
    found = parsed(notice("MAILER-DAEMON@mx.example.net", "Mail status", "See attachment.\n"))
    assert found.kind == "soft"


@pytest.mark.parametrize(
    ("sender", "system"),
    [
        ("<>", True), ("<@>", True), ("Courier mail server at mx <@>", True),
        ("MAILER-DAEMON", True), ("Mail Delivery System <Mailer-Daemon@mx.example>", True),
        ("postmaster@example.net", True), ("Kate <kate@example.net>", False),
        ("daemon-fan@example.net", False),
    ],
)  # fmt: skip
def test_mail_system_senders(sender: str, system: bool) -> None:
    message = email.message_from_string(f"From: {sender}\n\nhi\n", policy=policy.compat32)
    assert from_mail_system(message) is system


def test_an_out_of_office_reply_is_still_an_auto_reply() -> None:
    raw = notice(
        "Kate <kate@example.net>",
        "Automatic reply: Today's papers",
        "I am away until Monday and will reply when I am back.\n",
        extra="Auto-Submitted: auto-replied\r\n",
    )
    assert parsed(raw).kind == "auto-reply"


# --- the readers of lhosts_text: Courier, qmail, Domino, Notes, GMX, Zoho -----------------

QMAIL_REMOTE = """Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<kate@example.net>:
192.0.2.25 does not like recipient.
Remote host said: 550 Requested action not taken
Giving up on 192.0.2.25.

--- Below this line is a copy of the message.

"""

DOMINO_BODY = """Your message

  Subject: Today's papers

was not delivered to:

  kate@example.net

because:

  User kate (kate@example.net) not listed in Domino Directory

"""

NOTES_BODY = """------- Failure Reasons  --------

User not listed in public Name & Address Book
kate@example.net

------- Returned Message --------
"""

GMX_BODY = """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of
its recipients. This is a permanent error. The following address
failed:

"kate@example.net":

SMTP error from remote server after RCPT command:
host: mx.example.net
550 Requested action not taken: mailbox unavailable

--- The header of the original message is following. ---
"""

ZOHO_BODY = """This message was created automatically by mail delivery software.
A message that you sent could not be delivered to one or more of its recipients.

kate@example.net Host not reachable, ERROR_CODE :421, ERROR_CODE :4.4.2

"""


@pytest.mark.parametrize(
    ("sender", "subject", "body", "extra", "kind", "reason"),
    [
        ("Courier mail server at mx.example.net <@>", "NOTICE: mail delivery status.",
         COURIER_BODY.replace("<<< 550 No such user", "<<< 550 No such domain."), "",
         "hard", "hostunknown"),
        # "does not like recipient" without a status code: qmail's own words say RCPT.
        ("MAILER-DAEMON@mail.example.net", "failure notice", QMAIL_REMOTE, "",
         "hard", "userunknown"),
        ("MAILER-DAEMON@mail.example.net", "failure notice",
         QMAIL_BODY.replace("Sorry, no mailbox here by that name. (#5.1.1)",
                            "Sorry, I couldn't find any host named example.net. (#5.1.2)"),
         "", "hard", "hostunknown"),
        ("MAILER-DAEMON@mail.example.net", "failure notice",
         QMAIL_BODY.replace("Sorry, no mailbox here by that name. (#5.1.1)",
                            "disk quota exceeded (#4.2.2)"), "", "soft", "mailboxfull"),
        ("Postmaster@example.net", "DELIVERY FAILURE: User kate (kate@example.net) not listed "
         "in Domino Directory", DOMINO_BODY, "", "hard", "userunknown"),
        ("Postmaster@example.net", "Undeliverable message", NOTES_BODY, "", "hard",
         "userunknown"),
        ("MAILER-DAEMON@gmx.net", "Mail delivery failed: returning message to sender",
         GMX_BODY, "X-GMX-Antispam: 0\r\n", "hard", "userunknown"),
        # Zoho says "expired", a reason sisimai checks again: 4.4.2's own reason wins.
        ("mailer-daemon@mail.zoho.com", "Undelivered Mail Returned to Sender", ZOHO_BODY,
         "X-ZohoMail: Si CHF_MF_NL SS_10\r\n", "soft", "networkerror"),
    ],
)  # fmt: skip
def test_each_servers_own_words_give_the_reason(
    sender: str, subject: str, body: str, extra: str, kind: str, reason: str
) -> None:
    found = parsed(notice(sender, subject, body, extra=extra))
    assert (found.kind, found.reason) == (kind, reason)
    assert found.recipients == ("kate@example.net",)


def test_a_person_writing_from_postmaster_is_a_reply_but_a_postmaster_notice_is_not() -> None:
    """An outside tester's case: a person answering our digest from postmaster@ (a role
    mailbox people read, RFC 5321 section 4.5.1) with a Re: subject and In-Reply-To was a
    soft bounce with no recipient, so the operator never saw the question."""
    question = "Could the digest come weekly instead? We read it as a team.\n"
    threaded = "In-Reply-To: <d1@papers.example.org>\r\n"
    asked = notice(
        "Dana at Postmaster <postmaster@example.net>", "Re: Today's papers", question,
        extra=threaded, return_path="postmaster@example.net",
    )  # fmt: skip
    assert parsed(asked).kind == "reply"
    # The same words from MAILER-DAEMON, or without the thread, or sent automatically,
    # stay a mail system's message: never forwarded as a person's reply.
    for sender, extra, path in [
        ("MAILER-DAEMON@mx.example.net", threaded, "postmaster@example.net"),
        ("postmaster@example.net", "", "postmaster@example.net"),
        ("postmaster@example.net", threaded + "Auto-Submitted: auto-replied\r\n", ""),
    ]:
        found = parsed(
            notice(sender, "Re: Today's papers", question, extra=extra, return_path=path)
        )
        assert found.kind != "reply", (sender, extra, path)
    # A postmaster's notice that quotes a refusal is a failure whatever its subject says.
    bounced = notice(
        "postmaster@example.net", "Undelivered Mail Returned to Sender", POSTFIX_BODY,
        extra=threaded,
    )  # fmt: skip
    assert parsed(bounced).kind in {"hard", "soft"}
