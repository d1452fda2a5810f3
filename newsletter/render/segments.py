"""A document as runs of fixed text with holes, encoded once per edition except for the
lines a reader's values touch (issue 18).

plan = Plan(("<p>Hello ", "</p>\\n<p>fixed</p>\\n"))   # text around one hole
runs = [(plan, ("Ada",)), (other_plan, values), ...]
text = document(runs)                              # the text of the runs, joined
data = Encoder().encode(runs)                      # == b2a_qp(text) with CRLF, byte for byte

Quoted-printable works per line (RFC 2045 §6.7: ``binascii.b2a_qp`` decides soft breaks
and the escapes of trailing blanks and of a lone dot from the line alone). So a ``Plan``
keeps the whole lines of its fixed text encoded; per email only the lines a value touches
(from the last line end before it to the first one after it) are encoded, and those that
readers share (a section title with its count, a paper's number and title) are kept once
seen twice. Text with a CR goes the plain way (the caller checks).
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from typing import Any

from newsletter.render.columns import LONG, Columns

MAX_KEPT = 5_000  # shared lines kept per edition (a sender keeps them all send: issue 18)
MAX_SEEN = 50_000
SPLIT_AFTER = 76  # a line's shared start worth encoding once: longer than one QP line

# An item of a line: fixed text, or the index of a value.
Item = str | int


def qp_lines(text: str) -> bytes:
    """Whole lines (each LF included) as quoted-printable with CRLF; a text without a
    final LF is encoded as the end of a document."""
    if not text:
        return b""
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


class Group:
    """Whole lines made of fixed text and values (``items``): encoded per email. With a
    value no two readers share (``unique``) after a long shared start, the start is
    encoded once per edition (``head``: the items before that value) and the line goes on
    from the column it ends at (``Encoder._split``)."""

    __slots__ = ("format", "head", "items", "long", "one", "rest", "unique", "values")

    def __init__(self, items: Sequence[Item], unique: frozenset[int] = frozenset()) -> None:
        self.items = tuple(items)
        self.values = tuple(i for i in items if isinstance(i, int))
        self.one = self.values[0] if len(self.values) == 1 else -1  # the usual line
        self.format = _format(self.items)
        self.long = any(isinstance(i, str) and len(i) >= LONG for i in items)
        self.unique = any(i in unique for i in self.values)
        first = next((n for n, i in enumerate(items) if isinstance(i, int) and i in unique), 0)
        fixed = sum(len(i) for i in items[:first] if isinstance(i, str))
        self.head = self.items[:first] if fixed >= SPLIT_AFTER else ()
        self.rest = self.items[len(self.head) :]


class Plan:
    """Fixed text ``parts`` with a hole between each two (hole ``k`` holds value
    ``holes[k]``, value ``k`` without ``holes``), as the encoder walks it: ``open`` ends the line the run starts in, ``body`` is
    encoded lines (``bytes``) and ``Group``s, ``close`` starts the line the next run ends;
    ``lined``: whether the run has a line end of its own (else all of it is ``open``)."""

    __slots__ = ("body", "close", "format", "holes", "lined", "open", "parts")

    def __init__(
        self,
        parts: Sequence[str],
        holes: Sequence[int] | None = None,
        unique: frozenset[int] = frozenset(),
    ) -> None:
        self.parts = tuple(parts)
        self.holes = tuple(range(len(parts) - 1) if holes is None else holes)
        items: list[Item] = []
        for k, part in enumerate(self.parts):
            if k:
                items.append(self.holes[k - 1])
            if part:
                items.append(part)
        self.format = _format(items)
        if len(self.parts) == 1:  # fixed text only (a kept section): its lines at once
            self._fixed(self.parts[0])
            return
        self.lined = any(isinstance(i, str) and "\n" in i for i in items)
        self.open: tuple[Item, ...] = tuple(items)
        self.body: tuple[bytes | Group, ...] = ()
        self.close: tuple[Item, ...] = ()
        if not self.lined:
            return
        lines: list[list[Item]] = [[]]  # the items cut at each fixed line end
        for item in items:
            if isinstance(item, int):
                lines[-1].append(item)
                continue
            *whole, rest = item.split("\n")
            for piece in whole:
                lines[-1].append(piece + "\n")
                lines.append([])
            if rest:
                lines[-1].append(rest)
        self.open = tuple(lines[0])
        self.close = tuple(lines[-1])
        body: list[bytes | Group] = []
        run: list[str] = []
        for line in lines[1:-1]:
            if all(isinstance(i, str) for i in line):
                run.append("".join(line))  # type: ignore[arg-type]
                continue
            if run:
                body.append(qp_lines("".join(run)))
                run = []
            body.append(Group(line, unique))
        if run:
            body.append(qp_lines("".join(run)))
        self.body = tuple(body)

    def _fixed(self, text: str) -> None:
        """The walk of ``__init__`` for a text without holes: the same ``open``, ``body``
        (its whole lines encoded as one) and ``close``."""
        first = text.find("\n")
        self.lined = first >= 0
        self.open, self.body, self.close = ((text,) if text else ()), (), ()
        if not self.lined:
            return
        last = text.rfind("\n")
        self.open = (text[: first + 1],)
        self.close = (text[last + 1 :],) if last + 1 < len(text) else ()
        middle = text[first + 1 : last + 1]
        self.body = (qp_lines(middle),) if middle else ()

    def fill(self, values: Sequence[str]) -> str:
        """The run's text with ``values`` in its holes."""
        return self.format.format(*values)


Run = tuple[Plan, Sequence[Any]]


def _format(items: Sequence[Item]) -> str:
    """``items`` as a ``str.format`` pattern: ``"{k}"`` for value ``k``, the text with its
    braces doubled (one C call joins a line; a ``Markup`` value gives its text as it is)."""
    return "".join(
        f"{{{i}}}" if isinstance(i, int) else i.replace("{", "{{").replace("}", "}}") for i in items
    )


def document(runs: Sequence[Run]) -> str:
    """The text of ``runs`` (a run without values: its one part, as ``format`` gives it)."""
    return "".join(
        [plan.format.format(*values) if values else plan.parts[0] for plan, values in runs]
    )


class Encoder:
    """Encodes runs for the emails of one edition; ``clear()`` for the next."""

    def __init__(self) -> None:
        self._kept: dict[tuple[Any, ...], bytes] = {}
        self._heads: dict[tuple[Any, ...], tuple[bytes, int]] = {}
        self._seen: set[int] = set()
        self._columns = Columns()

    def clear(self) -> None:
        """Forget the lines kept (a new edition)."""
        self._columns.clear()
        self._kept.clear()
        self._heads.clear()
        self._seen.clear()

    def encode(self, runs: Sequence[Run]) -> bytes:
        """``runs`` as quoted-printable with CRLF: byte for byte what ``binascii.b2a_qp``
        gives for ``document(runs)`` (without a CR in it)."""
        out: list[bytes] = []
        pending: list[tuple[str, bool]] = []  # the line between runs: (text, fixed)
        add, kept = out.append, self._kept
        for plan, values in runs:
            if not plan.lined:
                pending.append(
                    (plan.format.format(*values), False) if values else (plan.parts[0], True)
                )
                continue
            for item in plan.open:
                pending.append((item, True) if isinstance(item, str) else (values[item], False))
            add(self._pending(pending))
            for line in plan.body:
                if line.__class__ is bytes:
                    add(line)
                elif line.one >= 0 and not line.unique:  # type: ignore[union-attr]
                    got = kept.get((line, values[line.one]))  # type: ignore[union-attr]
                    add(got if got is not None else self._group(line, values))  # type: ignore[arg-type]
                else:
                    add(self._group(line, values))  # type: ignore[arg-type]
            pending = [(i, True) if isinstance(i, str) else (values[i], False) for i in plan.close]
        add(self._pending(pending))  # the end: encoded as the end of a document
        return b"".join(out)

    def _group(self, group: Group, values: Sequence[Any]) -> bytes:
        if group.unique:
            if group.head:
                return self._split(group, values)
            return self._line(group, values)
        key = (
            (group, values[group.one])
            if group.one >= 0
            else (group, *[values[k] for k in group.values])
        )
        kept = self._kept.get(key)
        if kept is not None:
            return kept
        return self._keep(key, self._line(group, values))

    def _line(self, group: Group, values: Sequence[Any]) -> bytes:
        if group.long:  # long fixed pieces encoded once per column (``render.columns``)
            return self._columns.encode(
                [(i, True) if isinstance(i, str) else (values[i], False) for i in group.items]
            )
        return qp_lines(group.format.format(*values))

    def _split(self, group: Group, values: Sequence[Any]) -> bytes:
        """A line whose long start readers share: the start encoded once (with the column
        its last encoded line ends at), the rest encoded after as many placeholder
        characters. ``b2a_qp`` decides each character from the column, itself and the
        next character only (soft breaks before a character that does not fit; a blank
        escaped before a line end or the end; a lone dot), so this is the line's own
        encoding when the rest does not begin with a line end."""
        rest = "".join([i if isinstance(i, str) else values[i] for i in group.rest])
        if not rest or rest[0] in "\r\n":
            head = "".join([i if isinstance(i, str) else values[i] for i in group.head])
            return qp_lines(head + rest)
        key = (group, *[values[i] for i in group.head if isinstance(i, int)])
        known = self._heads.get(key)
        if known is None:
            head = "".join([i if isinstance(i, str) else values[i] for i in group.head])
            # A placeholder after the start: its last character is then encoded as it is
            # before a character that is not a line end (the rest's first).
            # (the placeholder, the last character, never gets a soft break before it)
            encoded = binascii.b2a_qp(head.encode("utf-8") + b"x", istext=True)[:-1]
            column = len(encoded) - encoded.rfind(b"\n") - 1
            known = encoded.replace(b"\n", b"\r\n"), column
            if len(self._heads) < MAX_KEPT:
                self._heads[key] = known
        start, column = known
        tail = binascii.b2a_qp(b"x" * column + rest.encode("utf-8"), istext=True)[column:]
        return start + tail.replace(b"\n", b"\r\n")

    def _pending(self, pieces: list[tuple[str, bool]]) -> bytes:
        """The text between runs (a line, or the document's end), kept when seen twice."""
        key = ("".join([text for text, _ in pieces]),)
        kept = self._kept.get(key)
        if kept is not None:
            return kept
        if any(fixed and len(text) >= LONG for text, fixed in pieces):
            return self._keep(key, self._columns.encode(pieces))
        return self._keep(key, qp_lines(key[0]))

    def _keep(self, key: tuple[Any, ...], encoded: bytes) -> bytes:
        """``encoded`` (the lines of ``key``), kept from the second time ``key`` is seen."""
        code = hash(key)
        if code not in self._seen:
            if len(self._seen) >= MAX_SEEN:
                self._seen.clear()
            self._seen.add(code)
        elif len(self._kept) < MAX_KEPT:
            self._kept[key] = encoded
        return encoded
