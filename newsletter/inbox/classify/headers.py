"""Header values as plain text, whatever the parsing policy, never an exception. Pure.

With ``email.policy.default`` a header is parsed when it is read, and some malformed values
make the standard library raise (in Python 3.11 an empty ``Message-ID: <`` raises
IndexError in ``parse_message_id``; a From whose encoded name decodes to a line break raises
ValueError). Mail is untrusted input: such a header reads as its raw text instead, unfolded
(still encoded: never a line break), as ``compat32`` would give it.
"""

from __future__ import annotations

from email.message import Message


def values(message: Message, name: str) -> list[str]:
    """Every value of header ``name`` as text ([] when absent; its raw text, unfolded, when
    the policy cannot parse it)."""
    try:
        return [str(value) for value in message.get_all(name, [])]
    except Exception:  # the standard library's header parsers on malformed input
        wanted = name.lower()
        return [
            " ".join(str(value).split()) for key, value in message.raw_items()
            if key.lower() == wanted
        ]  # fmt: skip


def first(message: Message, name: str, default: str = "") -> str:
    """The first value of header ``name`` as text (``default`` when absent or unreadable)."""
    found = values(message, name)
    return found[0] if found else default


def present(message: Message, name: str) -> bool:
    """Whether ``message`` has a header ``name`` (case-insensitive), readable or not."""
    return name in message


def items(message: Message) -> list[tuple[str, str]]:
    """(name, value) of every readable header, in order."""
    found: list[tuple[str, str]] = []
    for name in dict.fromkeys(message.keys()):
        found.extend((name, value) for value in values(message, name))
    return found
