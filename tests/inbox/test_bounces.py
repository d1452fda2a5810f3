"""The test DSNs (tests/inbox/mail.py) through the one classifier, as the inbox reads them."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes
from email.policy import default

import pytest

from newsletter.inbox.classify import classify
from newsletter.links import Links
from newsletter.models import Subscriber
from newsletter.tokens import Signer
from tests.inbox.mail import dsn, reply


@pytest.mark.parametrize(
    ("action", "status", "kind"),
    [
        ("failed", "5.1.1", "hard"),
        ("failed", "5.2.2", "soft"),  # mailbox full: RFC 3463 says it may be temporary
        ("failed", "5.7.1", "soft"),  # policy: says nothing about the address
        ("failed", "4.4.1", "soft"),
        ("delayed", "4.4.7", "warning"),  # only failures count
        ("delivered", "2.0.0", "warning"),
        ("relayed", "2.0.0", "warning"),
        ("expanded", "2.0.0", "warning"),
    ],
)
def test_kind_of_a_report(action: str, status: str, kind: str) -> None:
    text = "smtp; 550 5.1.1 User unknown" if status == "5.1.1" else f"smtp; {status} refused"
    found = classify(message_from_bytes(dsn("a@example.com", status, action, text), policy=default))
    assert found.kind == kind


def test_postfix_dsn_per_recipient() -> None:
    found = classify(message_from_bytes(dsn("gone@example.com", "5.1.1"), policy=default))
    (one,) = found.per_recipient
    assert (one.recipient, one.action, one.status, one.kind) == (
        "gone@example.com",
        "failed",
        "5.1.1",
        "hard",
    )
    assert found.recipients == ("gone@example.com",)


def test_plain_reply_is_a_reply() -> None:
    message = reply(
        sender="a@b.org", to="papers@example.org", subject="Undelivered", body="Status: 5.1.1"
    )
    found = classify(message_from_bytes(message, policy=default))
    assert (found.kind, found.per_recipient) == ("reply", ())


def test_quoted_message_ids_from_headers_or_whole_message() -> None:
    headers = message_from_bytes(dsn("a@example.com", "5.1.1", quoted_id="<d.1@x.org>"))
    assert classify(headers).message_ids == ("<d.1@x.org>",)
    assert classify(message_from_bytes(dsn("a@example.com", "5.1.1"))).message_ids == ()
    whole = dsn("a@example.com", "5.1.1").replace(
        b"Content-Type: text/rfc822-headers", b"Content-Type: message/rfc822"
    )
    whole = whole.replace(b"Subject: Daily Papers", b"Message-ID:  <d.2@x.org> \r\nSubject: D")
    assert classify(message_from_bytes(whole, policy=default)).message_ids == ("<d.2@x.org>",)


def test_verp_tokens_are_read_in_the_current_and_the_earlier_form() -> None:
    links = Links("http://127.0.0.1:9", Signer.from_secrets("k"), "papers@example.org")
    reader = Subscriber(id=7, email="ada@example.org", token_nonce="n")
    local = links.return_path(reader).rpartition("@")[0]
    token = links.bounce_token(local)
    assert local == f"papers+bounce-{token}" and token
    now = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    assert links.subscriber_for("bounce", token, {7: reader}.get, now) == reader
    assert links.bounce_token(f"bounces+{token}") == token  # mail sent before issue 15
    for other in (f"papers+reply-{token}", f"someone+bounce-{token}", "papers", "bounces+"):
        assert links.bounce_token(other) is None
