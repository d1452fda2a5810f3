from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from newsletter.deliver.classify import report_bounce as classify
from newsletter.inbox.dsn import is_dsn, parse, quoted_message_ids
from tests.inbox.mail import dsn, reply


@pytest.mark.parametrize(
    ("action", "status", "kind"),
    [
        ("failed", "5.1.1", "hard"),
        ("failed", "5.2.2", "hard"),
        ("failed", "5.7.1", "soft"),
        ("failed", "4.4.1", "soft"),
        ("delayed", "4.4.7", "soft"),
        ("delivered", "2.0.0", None),
        ("relayed", "2.0.0", None),
        ("failed", "garbage", None),
    ],
)
def test_classify(action: str, status: str, kind: str | None) -> None:
    assert classify(action, status) == kind


def test_parse_postfix_dsn() -> None:
    message = message_from_bytes(dsn("gone@example.com", "5.1.1"), policy=default)
    assert is_dsn(message)
    (bounce,) = parse(message)  # type: ignore[arg-type]
    assert bounce.recipient == "gone@example.com"
    assert (bounce.action, bounce.status, bounce.kind) == ("failed", "5.1.1", "hard")
    assert "User unknown" in bounce.diagnostic


def test_plain_reply_is_not_a_dsn() -> None:
    message = message_from_bytes(
        reply(
            sender="a@b.org", to="papers@example.org", subject="Undelivered", body="Status: 5.1.1"
        ),
        policy=default,
    )
    assert not is_dsn(message)
    assert parse(message) == []  # type: ignore[arg-type]


def test_quoted_message_ids_from_headers_or_whole_message() -> None:
    headers = message_from_bytes(dsn("a@example.com", "5.1.1", quoted_id="<d.1@x.org>"))
    assert quoted_message_ids(headers) == {"<d.1@x.org>"}
    assert quoted_message_ids(message_from_bytes(dsn("a@example.com", "5.1.1"))) == set()
    whole = dsn("a@example.com", "5.1.1").replace(
        b"Content-Type: text/rfc822-headers", b"Content-Type: message/rfc822"
    )
    whole = whole.replace(b"Subject: Daily Papers", b"Message-ID:  <d.2@x.org> \r\nSubject: D")
    assert quoted_message_ids(message_from_bytes(whole, policy=default)) == {"<d.2@x.org>"}
