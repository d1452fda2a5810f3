"""Reading commands from a reply: the subject and the first lines of the body. Pure.

Quoted text (``> ...``, "On ... wrote:", forwarded/original-message blocks) and signatures
(``-- ``, "Sent from my ...") are ignored, as Mailman does. Commands:

    subscribe | unsubscribe | topics: a; b | add topic: x | remove topic: x
    pause [until YYYY-MM-DD] | resume | help | confirm
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsletter.text import plain, split_terms

MAX_BODY_LINES = 5
NAMES = (
    "subscribe",
    "unsubscribe",
    "topics",
    "add_topic",
    "remove_topic",
    "pause",
    "resume",
    "help",
    "confirm",
)

_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_QUOTE_START = re.compile(
    r"^(on .+ wrote:?|le .+ a écrit ?:|am .+ schrieb .+:|-{2,}\s*original message\s*-{2,}"
    r"|-{2,}\s*forwarded message\s*-{2,}|from: .+|_{5,})\s*$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^(--\s*|sent from my .+|get outlook for .+)$", re.IGNORECASE)
_LINE = re.compile(
    r"^(?P<name>subscribe|join|unsubscribe|leave|stop|topics|add[ _-]?topics?|remove[ _-]?topics?"
    r"|pause|resume|help|confirm)\b\s*:?\s*(?P<argument>.*)$",
    re.IGNORECASE,
)
_ALIASES = {"join": "subscribe", "leave": "unsubscribe", "stop": "unsubscribe"}


@dataclass(frozen=True, slots=True)
class Command:
    """One reply command (``unsubscribe``, ``topics`` …) and its arguments."""

    name: str
    arguments: tuple[str, ...] = ()

    def describe(self) -> str:
        """The command as one line for a confirmation reply (``topics: a; b``)."""
        label = self.name.replace("_", " ")
        return f"{label}: {'; '.join(self.arguments)}" if self.arguments else label


def clean_subject(subject: str) -> str:
    """A reply's subject without ``Re:``/``Fwd:`` prefixes, white space collapsed."""
    return _PREFIX.sub("", " ".join(subject.split()))


def body_lines(body: str, limit: int = MAX_BODY_LINES) -> list[str]:
    """The first ``limit`` non-empty lines the sender wrote, before quotes and signatures."""
    lines: list[str] = []
    for raw in body.splitlines():
        line = raw.strip()
        if raw.startswith(">") or line.startswith(">"):
            break
        if _QUOTE_START.match(line) or _SIGNATURE.match(raw.rstrip("\r")) or _SIGNATURE.match(line):
            break
        if line:
            lines.append(line)
        if len(lines) >= limit:
            break
    return lines


def parse_line(line: str) -> Command | None:
    """The command one line of a reply gives, or None when it gives none. Control and
    bidi-override characters are dropped first (``text.plain``): the answer quotes the
    command back."""
    found = _LINE.match(plain(line))
    if found is None:
        return None
    word = found.group("name").lower().replace(" ", "_").replace("-", "_")
    word = _ALIASES.get(word, word)
    if word.startswith("add"):
        word = "add_topic"
    elif word.startswith("remove"):
        word = "remove_topic"
    argument = found.group("argument").strip()
    if word in ("topics", "add_topic", "remove_topic"):
        terms = tuple(split_terms(argument))
        return Command(word, terms) if terms or word == "topics" else None
    if word == "pause":
        until = re.match(r"^(until\s+)?(\d{4}-\d{2}-\d{2})$", argument, re.IGNORECASE)
        return Command("pause", (until.group(2),) if until else ())
    if argument and not _token_like(argument):
        return None  # "subscribe me to everything please" is prose, not a command
    return Command(word)


def _token_like(text: str) -> bool:
    return bool(TOKEN.fullmatch(text.strip()))


# A reply token (newsletter.tokens): the older base64url "PAYLOAD.MAC", or base32 in any case.
TOKEN = re.compile(r"[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{22}|\b[A-Za-z2-7]{21,64}\b")


def parse(subject: str, body: str) -> list[Command]:
    """Commands from the subject, then from the first body lines; duplicates dropped."""
    found: list[Command] = []
    candidates = [clean_subject(subject), *body_lines(body)]
    for line in candidates:
        command = parse_line(line)
        if command is not None and command not in found:
            found.append(command)
    return found


def subject_token(subject: str) -> str | None:
    """A token pasted into the subject (``confirm TOKEN``), as some mail clients drop +tags."""
    found = TOKEN.search(subject)
    return found.group(0) if found else None


def plus_token(address: str, reply_local: str) -> tuple[str, str] | None:
    """``papers+unsubscribe-TOKEN@d`` -> ``("unsubscribe", "TOKEN")`` when ``papers`` is ours."""
    local = address.rpartition("@")[0]
    base, plus, tag = local.partition("+")
    if not plus or base.lower() != reply_local.lower():
        return None
    command, dash, token = tag.partition("-")
    if not dash or not command.isalpha() or not token:
        return None
    return command.lower(), token
