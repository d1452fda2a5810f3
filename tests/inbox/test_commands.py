from __future__ import annotations

import pytest

from newsletter.inbox.commands import Command, body_lines, parse, plus_token, subject_token


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("unsubscribe", "", [Command("unsubscribe")]),
        ("Re: Fwd: UNSUBSCRIBE", "", [Command("unsubscribe")]),
        (
            "Re: Daily Papers, 26 November",
            "topics: diffusion; LLM agents, RAG\n",
            [Command("topics", ("diffusion", "LLM agents", "RAG"))],
        ),
        (
            "",
            "add topic: graph neural networks\nremove topic: RAG",
            [Command("add_topic", ("graph neural networks",)), Command("remove_topic", ("RAG",))],
        ),
        ("", "pause until 2026-12-24", [Command("pause", ("2026-12-24",))]),
        ("", "pause\nresume\nhelp", [Command("pause"), Command("resume"), Command("help")]),
        ("leave", "", [Command("unsubscribe")]),
        ("Re: hello", "Thanks for the great list!\n", []),
        ("Re: hello", "subscribe me to everything please", []),
    ],
)
def test_parse(subject: str, body: str, expected: list[Command]) -> None:
    assert parse(subject, body) == expected


def test_quoted_text_and_signature_are_ignored() -> None:
    body = "resume\n\n-- \nunsubscribe\n"
    assert parse("Re: x", body) == [Command("resume")]
    quoted = "Hi!\n\nOn Tue, 24 Nov 2026, Daily Papers <papers@example.org> wrote:\n> unsubscribe\n"
    assert parse("Re: x", quoted) == []
    assert parse("", "> unsubscribe\n> topics: x") == []
    outlook = "pause\n-----Original Message-----\nFrom: Daily Papers\nunsubscribe"
    assert parse("", outlook) == [Command("pause")]


def test_only_first_lines_count() -> None:
    body = "\n".join(["hello"] * 5 + ["unsubscribe"])
    assert body_lines(body) == ["hello"] * 5
    assert parse("", body) == []


def test_plus_token() -> None:
    assert plus_token("papers+unsubscribe-abc.def@example.org", "papers") == (
        "unsubscribe",
        "abc.def",
    )
    assert plus_token("Papers+topics-A-b_c.d@example.org", "papers") == ("topics", "A-b_c.d")
    assert plus_token("other+unsubscribe-abc@example.org", "papers") is None
    assert plus_token("papers@example.org", "papers") is None
    assert plus_token("papers+nodash@example.org", "papers") is None


def test_subject_token() -> None:
    token = "NHxjb25maXJtfDZh" + "." + "A" * 22
    assert subject_token(f"Re: confirm {token}") == token
    assert subject_token("Re: confirm") is None
