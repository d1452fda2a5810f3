"""The bounce classifier on messages built to show one rule each (the corpus is measured in
``test_classify_corpus.py``)."""

from __future__ import annotations

import email
import json
from email import policy

import pytest

from newsletter.inbox.classify import Classification, classify
from newsletter.inbox.classify.reasons import Diagnosis, diagnose
from tests.inbox import mail


def parsed(raw: bytes) -> Classification:
    return classify(email.message_from_bytes(raw, policy=policy.compat32))


def test_a_user_unknown_dsn_is_hard_with_its_recipient_status_and_reason() -> None:
    found = parsed(mail.dsn("gone@example.net", "5.1.1", quoted_id="<m1@papers.example.org>"))
    assert found.kind == "hard"
    assert found.recipients == ("gone@example.net",)
    assert (found.status, found.reason, found.action) == ("5.1.1", "userunknown", "failed")
    assert found.message_ids == ("<m1@papers.example.org>",)


@pytest.mark.parametrize("action", ["delayed", "relayed", "delivered", "expanded"])
def test_reports_that_did_not_fail_are_warnings(action: str) -> None:
    raw = mail.dsn("slow@example.net", "4.4.1", action=action, diagnostic="smtp; 451 4.4.1 timeout")
    found = parsed(raw)
    assert found.kind == "warning"
    assert not found.is_failure


def test_a_bounce_from_a_forward_target_names_the_original_recipient_and_our_message_id() -> None:
    raw = mail.dsn("target@elsewhere.example", "5.1.1", quoted_id="<ours@papers.example.org>")
    raw = raw.replace(
        b"Original-Recipient: rfc822;target@elsewhere.example",
        b"Original-Recipient: rfc822;reader@example.net",
    )
    found = parsed(raw)
    assert found.kind == "hard"
    assert "reader@example.net" in found.recipients
    assert "target@elsewhere.example" in found.recipients
    assert "<ours@papers.example.org>" in found.message_ids


def test_the_verp_local_part_is_reported() -> None:
    found = parsed(mail.dsn("gone@example.net", "5.1.1", to="papers+b-abc123@example.org"))
    assert found.verp_local_parts == ("papers+b-abc123",)


@pytest.mark.parametrize(
    ("status", "diagnostic", "reason"),
    [
        ("5.7.1", "smtp; 554 5.7.1 <{r}>: Relay access denied", "norelaying"),
        (
            "5.7.1",
            "smtp; 550 5.7.1 Service unavailable; client host blocked using Spamhaus",
            "blocked",
        ),
        ("5.2.2", "smtp; 552 5.2.2 Mailbox full", "mailboxfull"),
        (
            "5.2.1",
            "smtp; 550 5.2.1 The email account that you tried to reach is disabled",
            "suspend",
        ),
        ("5.0.0", "smtp; 550 5.7.26 Unauthenticated email is not accepted (DMARC)", "authfailure"),
        ("5.3.0", "smtp; 554 5.3.0 Message rejected as spam", "spamdetected"),
        ("4.4.7", "smtp; 451 4.4.7 Delivery time expired", "expired"),
        # RFC 3463 x.2.0: the mailbox exists, whatever the text says
        ("5.2.0", "smtp; 550 : User unknown", "filtered"),
        # x.7.x and no RCPT: sisimai's Filtered.pm (a "user unknown" text that is not proof)
        ("5.7.1", "smtp; 550 5.7.1 <{r}>... User unknown, not local address", "filtered"),
    ],
)
def test_refusals_that_do_not_prove_the_address_bad_are_soft(
    status: str, diagnostic: str, reason: str
) -> None:
    found = parsed(mail.dsn("reader@example.net", status, diagnostic=diagnostic))
    assert (found.kind, found.reason) == ("soft", reason)


def test_exchange_online_not_in_directory_is_hard_by_microsofts_own_rule() -> None:
    """Exchange Online's directory-based edge blocking answers 5.4.1 "Recipient address
    rejected: Access denied" for an address it does not know (sisimai Rhost/Microsoft.pm);
    the same words from another server, with no RCPT to tie them to the address, prove
    nothing (sisimai's Filtered.pm)."""
    diagnostic = "smtp; 550 5.4.1 <{r}>: Recipient address rejected: Access denied"
    raw = mail.dsn("gone@example.net", "5.4.1", diagnostic=diagnostic)
    microsoft = raw.replace(
        b"Remote-MTA: dns; mail.example.com",
        b"Remote-MTA: dns; example-net.mail.protection.outlook.com",
    )
    assert (parsed(microsoft).kind, parsed(microsoft).reason) == ("hard", "userunknown")
    assert parsed(raw).kind == "soft"


def test_a_user_unknown_text_is_proof_only_with_a_5_1_status_or_at_rcpt() -> None:
    """sisimai's UserUnknown.pm: the text counts when the status says the address is bad
    (5.1.1) or the refusal answered RCPT; at DATA with a vague 5.0.0 it is ``filtered``."""
    text = (
        "<reader@example.net>: host mx.example.net said: 550 User unknown "
        "(in reply to end of DATA command)"
    )
    assert diagnose("5.0.0", text, command="DATA") == Diagnosis("filtered", "5.0.0", False)
    assert diagnose("5.0.0", text, command="RCPT") == Diagnosis("userunknown", "5.0.0", True)
    assert diagnose("5.1.1", text, command="DATA") == Diagnosis("userunknown", "5.1.1", True)
    assert diagnose("5.2.2", text, command="RCPT") == Diagnosis("mailboxfull", "5.2.2", False)


def test_a_permanent_failure_without_a_reason_is_soft() -> None:
    found = parsed(mail.dsn("reader@example.net", "5.0.0", diagnostic="smtp; 550 Go away"))
    assert found.kind == "soft"


def test_an_exim_notice_without_a_report_is_read_from_its_text() -> None:
    raw = (
        b"Return-path: <>\r\nFrom: Mail Delivery System <Mailer-Daemon@mx.example.net>\r\n"
        b"To: papers@example.org\r\nSubject: Mail delivery failed: returning message to sender\r\n"
        b"X-Failed-Recipients: gone@example.net\r\nAuto-Submitted: auto-replied\r\n\r\n"
        b"This message was created automatically by mail delivery software.\r\n\r\n"
        b"A message that you sent could not be delivered to one or more of its\r\n"
        b"recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        b"  gone@example.net\r\n    host mx.example.net [192.0.2.1]\r\n"
        b"    SMTP error from remote mail server after RCPT TO:<gone@example.net>:\r\n"
        b"    550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown\r\n"
    )
    found = parsed(raw)
    assert (found.kind, found.recipients, found.status) == ("hard", ("gone@example.net",), "5.1.1")


def test_an_arf_report_is_a_complaint_naming_the_reader() -> None:
    raw = (
        b"From: feedback@isp.example\r\nTo: abuse@example.org\r\nSubject: FW: Daily Papers\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n"
        b"--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
        b"User-Agent: ISP-FBL/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: reader@example.net\r\n\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: papers@example.org\r\n"
        b"To: reader@example.net\r\nMessage-ID: <ours@papers.example.org>\r\n\r\nbody\r\n--b--\r\n"
    )
    found = parsed(raw)
    assert (found.kind, found.recipients, found.reason) == (
        "complaint",
        ("reader@example.net",),
        "abuse",
    )
    assert found.message_ids == ("<ours@papers.example.org>",)


def test_an_out_of_office_reply_is_an_auto_reply() -> None:
    raw = mail.reply(
        sender="reader@example.net",
        to="papers@example.org",
        subject="Automatic reply: Daily Papers",
        body="I am out of the office until Monday.",
        extra="Return-Path: <>\r\nX-Auto-Response-Suppress: All\r\n",
    )
    found = parsed(raw)
    assert found.kind == "auto-reply"
    assert "X-Auto-Response-Suppress: All" in found.signals
    assert "Return-Path: <>" in found.signals


@pytest.mark.parametrize(
    ("subject", "extra"),
    [
        ("Re: Daily Papers", "Auto-Submitted: auto-replied\r\n"),
        ("Re: Daily Papers", "Precedence: bulk\r\n"),
        ("Abwesenheitsnotiz: Daily Papers", ""),
        ("Réponse automatique : Daily Papers", ""),
        ("=?utf-8?b?6Ieq5YuV5b+c562U?=", ""),  # 自動応答
    ],
)
def test_each_rfc_3834_signal_alone_makes_an_auto_reply(subject: str, extra: str) -> None:
    raw = mail.reply(
        sender="reader@example.net",
        to="papers@example.org",
        subject=subject,
        body="Away.",
        extra=extra,
    )
    assert parsed(raw).kind == "auto-reply"


def test_a_person_writing_back_is_a_reply() -> None:
    raw = mail.reply(
        sender="Reader <reader@example.net>",
        to="papers@example.org",
        subject="Re: Daily Papers",
        body="Thanks, could you add robotics?",
    )
    found = parsed(raw)
    assert (found.kind, found.recipients, found.signals) == ("reply", ("reader@example.net",), ())


def test_an_ses_bounce_notification_is_read_from_its_json() -> None:
    payload = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "gone@example.net",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
        },
    }
    raw = (
        b"From: no-reply@sns.amazonaws.com\r\nTo: papers@example.org\r\n"
        b"Subject: AWS Notification Message\r\n\r\n" + json.dumps(payload).encode() + b"\r\n"
    )
    found = parsed(raw)
    assert (found.kind, found.recipients, found.reason) == (
        "hard",
        ("gone@example.net",),
        "userunknown",
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe\x00garbage",
        b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno boundary",
        b"Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: ;\r\nStatus: x\r\n",
        b"Subject: =?unknown-8bit?q?=FF?=\r\nContent-Type: text/plain; charset=x-nope\r\n\r\n\xff",
    ],
)
def test_malformed_messages_are_classified_without_an_exception(raw: bytes) -> None:
    assert parsed(raw).kind in ("other", "reply", "soft", "warning", "auto-reply")


def test_an_ses_notification_inside_an_sns_envelope_is_read() -> None:
    inner = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "NoEmail",
            "bouncedRecipients": [{"emailAddress": "gone@example.net"}],
        },
    }
    envelope = {"Type": "Notification", "Message": json.dumps(inner)}
    raw = (
        b"From: no-reply@sns.amazonaws.com\r\nTo: papers@example.org\r\n"
        b"Subject: AWS Notification Message\r\n\r\n" + json.dumps(envelope, indent=2).encode()
    )
    found = parsed(raw)
    assert (found.kind, found.recipients, found.reason) == (
        "hard",
        ("gone@example.net",),
        "userunknown",
    )


def test_a_person_quoting_a_bounce_is_not_a_bounce() -> None:
    body = (
        "Hi, I got this when I wrote to my old address, can you update it?\n\n"
        "----- The following addresses had permanent fatal errors -----\n"
        "<reader@old.example.net>\n"
        "    (reason: 550 5.1.1 <reader@old.example.net>... User unknown)\n"
    )
    raw = mail.reply(
        sender="reader@example.net", to="papers@example.org", subject="Re: Daily Papers", body=body
    )
    assert parsed(raw).kind == "reply"


def test_each_recipient_of_a_report_keeps_its_own_kind() -> None:
    raw = mail.dsn(
        "gone@example.net",
        "5.1.1",
        more=("full@example.net",),
        diagnostic="smtp; 550 5.1.1 <{r}>: Recipient address rejected: User unknown",
    )
    raw = raw.replace(
        b"Status: 5.1.1\r\nRemote-MTA: dns; mail.example.com\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 <full@example.net>: Recipient address rejected: User unknown",
        b"Status: 4.2.2\r\nRemote-MTA: dns; mail.example.com\r\n"
        b"Diagnostic-Code: smtp; 452 4.2.2 <full@example.net>: Mailbox full",
    ).replace(b"Action: failed\r\nStatus: 4.2.2", b"Action: delayed\r\nStatus: 4.2.2")
    found = parsed(raw)
    assert found.kind == "hard"
    assert [(r.recipient, r.kind, r.reason) for r in found.per_recipient] == [
        ("gone@example.net", "hard", "userunknown"),
        ("full@example.net", "warning", "delayed"),
    ]
    assert found.recipients == ("gone@example.net",)  # only failures are named


def test_a_header_the_standard_library_cannot_parse_reads_as_absent() -> None:
    raw = b"Message-ID: <\r\nFrom: reader@example.net\r\nSubject: hi\r\n\r\nThanks"
    message = email.message_from_bytes(raw, policy=policy.default)
    with pytest.raises(IndexError):  # Python's own parser on this header
        message.get("Message-ID")
    assert classify(message).kind == "reply"


def test_an_rfc_6533_global_delivery_status_is_read_like_rfc_3464() -> None:
    raw = mail.dsn("gone@example.net", "5.1.1").replace(
        b"Content-Type: message/delivery-status", b"Content-Type: message/global-delivery-status"
    )
    found = parsed(raw)
    assert (found.kind, found.recipients, found.status) == ("hard", ("gone@example.net",), "5.1.1")


def test_a_feedback_loop_notice_without_arf_is_a_complaint() -> None:
    raw = (
        b"From: staff@hotmail.example\r\nTo: abuse@example.org\r\n"
        b"Subject: complaint about message from 192.0.2.1\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: papers@example.org\r\n"
        b"To: reader@example.net\r\nMessage-ID: <ours@papers.example.org>\r\n\r\nbody\r\n--b--\r\n"
    )
    found = parsed(raw)
    assert (found.kind, found.recipients) == ("complaint", ("reader@example.net",))


@pytest.mark.parametrize(
    ("report_type", "written"),
    [
        (b"message/delivery-status", b"utf-8; j\\x{F6}rg\\x{202E}gro@example.net"),
        (b"message/global-delivery-status", b"utf-8; j\\x{F6}rg\\x{202E}gro@example.net"),
        (b"message/global-delivery-status", "utf-8; jörg\u202egro@example.net".encode()),
    ],
)
def test_an_rfc6533_utf8_final_recipient_is_decoded_whole(
    report_type: bytes, written: bytes
) -> None:
    """``\\x{HEX}`` (utf-8-addr-xtext) and raw UTF-8 (utf-8-addr-unitext, in a global report)
    give the same address, bidi override included (escaping it is the printer's job)."""
    raw = mail.dsn("placeholder@example.net", "5.1.1")
    raw = raw.replace(
        b"Final-Recipient: rfc822; placeholder@example.net", b"Final-Recipient: " + written
    )
    raw = raw.replace(b"message/delivery-status", report_type)
    for parsing in (policy.compat32, policy.default):
        found = classify(email.message_from_bytes(raw, policy=parsing))
        assert found.recipients[0] == "j\u00f6rg\u202egro@example.net"
        assert found.kind == "hard"
