from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from newsletter.inbox.bounces import classify, is_dsn, parse
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
