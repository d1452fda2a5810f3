"""Render once per edition, personalise per reader: a digest template's paper cards are
rendered once per edition and each email is assembled from them (issue 18).

A digest template (``digest.mjml.j2`` after MJML, ``digest.txt.j2``) has one loop over a
section's papers, ``{% for item in section.items %}``, whose body draws one card from the
``ItemView`` ``item``. ``split_item_loop`` takes the template's Jinja syntax tree apart:

- the **card**: the loop's body as a template of its own, rendered once per edition for
  each paper and variant (short or whole, with or without a reason and feedback links),
  with a random marker standing in for each personal field (``PERSONAL``: the number, the
  reason, the feedback URLs); the result is cut at the markers;
- the **skeleton**: the template with that body replaced by ``{{ item|CARD }}`` (a filter
  of the environment: Jinja calls it directly), which fills the card with this reader's
  values, escaped as Jinja would have escaped them (``markupsafe.escape`` with
  autoescape, ``str`` without).

So Jinja runs per email only for the header, the section titles and the footer, and not
even there when ``render.skeleton`` can follow the template (the default). The bytes
are those of the plain render by construction, and the split is only made when the loop's
body uses the personal fields in ways a marker survives: printed bare (``{{ item.reason
}}``) or tested bare (``{% if item.reason %}``), outside filters, macros and call blocks,
with no other name from the context (``loop``, ``section``, ``list_name``). Anything else
(an operator's own template, say) gets ``None`` and the renderer keeps the plain path. The
renderer also compares both paths on the first digest of every edition
(``render.paths.DigestPaths``), and tests compare them on random readers
(``tests/render/test_assembled.py``).
"""

from __future__ import annotations

import binascii
import dataclasses
import operator
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import jinja2
from jinja2 import meta, nodes
from markupsafe import Markup, escape

from newsletter.render.segments import Plan, Run
from newsletter.render.views import ItemView

# The fields of an ItemView that differ between readers; ``paper`` and ``short`` are the
# edition's (``short``: the size budget, ``render.budget``).
PERSONAL = ("number", "reason", "text_reason", "more_url", "less_url")
# Of those, the ones no two readers share (signed for the reader): a line with one is
# encoded for each email; a line with only the others (a number, a reason) is kept.
UNIQUE_FIELDS = frozenset(("more_url", "less_url"))
MAX_KEPT_LINES = 20_000
EDITION_FIELDS = ("paper", "short")
CARD = "nl_card__"  # the filter the skeleton calls; not a name any template uses
# Nodes that print or test a personal field as it is; any other ancestor (a filter block,
# a macro, an expression around it) could change the marker and so is refused.
_PLAIN_ANCESTORS = (nodes.Template, nodes.Output, nodes.If, nodes.For, nodes.Not)


@dataclasses.dataclass(slots=True)
class ItemLoop:
    """A digest template split at its item loop: ``skeleton`` renders the email with each
    card from the ``CARD`` filter; ``card`` renders one card alone (``target`` in its
    context)."""

    skeleton: jinja2.Template
    card: jinja2.Template
    target: str
    autoescape: bool


def split_item_loop(env: jinja2.Environment, source: str) -> Cards | None:
    """``source`` (a template's Jinja text, rendered in ``env``) split at its one loop
    ``{% for NAME in X.items %}``, with the ``Cards`` that fill it (installed as the
    filter ``CARD`` of ``env``: one split per environment); ``None`` when it has no such
    loop, more than one, or a body that uses anything but ``NAME.paper``, ``NAME.short``
    and the ``PERSONAL`` fields printed or tested bare."""
    loop = _the_item_loop(env.parse(source))
    if loop is None or not _card_is_plain(env, loop):
        return None
    target = loop.target.name  # type: ignore[attr-defined]
    card_tree = nodes.Template(loop.body, lineno=1)
    skeleton_tree = env.parse(source)
    skeleton_loop = _the_item_loop(skeleton_tree)
    assert skeleton_loop is not None  # the same source parses the same way
    fill = nodes.Filter(nodes.Name(target, "load"), CARD, [], [], None, None)
    skeleton_loop.body = [nodes.Output([fill])]
    for tree in (card_tree, skeleton_tree):
        tree.set_environment(env)
        tree.set_lineno(1)
    autoescape = env.autoescape if isinstance(env.autoescape, bool) else False
    card = env.from_string(card_tree)
    cards = Cards(ItemLoop(card, card, target, autoescape))
    env.filters[CARD] = cards.card  # before the skeleton is compiled: Jinja binds it then
    cards.loop.skeleton = env.from_string(skeleton_tree)
    return cards


def _the_item_loop(tree: nodes.Template) -> nodes.For | None:
    found = [
        loop
        for loop in tree.find_all(nodes.For)
        if isinstance(loop.iter, nodes.Getattr)
        and loop.iter.attr == "items"
        and isinstance(loop.target, nodes.Name)
    ]
    if len(found) != 1 or found[0].else_ or found[0].test is not None or found[0].recursive:
        return None
    return found[0]


def _card_is_plain(env: jinja2.Environment, loop: nodes.For) -> bool:
    target = loop.target.name  # type: ignore[attr-defined]
    body = nodes.Template(loop.body, lineno=1)
    body.set_environment(env)
    if not meta.find_undeclared_variables(body) <= {target, *env.globals}:
        return False
    for node, ancestors in _walk(body, ()):
        if not (isinstance(node, nodes.Name) and node.name == target):
            continue
        parent = ancestors[-1] if ancestors else None
        if not isinstance(parent, nodes.Getattr) or parent.node is not node:
            return False  # ``item`` passed whole somewhere: cannot follow it
        if parent.attr in EDITION_FIELDS:
            continue
        if parent.attr not in PERSONAL:
            return False
        holder = ancestors[-2] if len(ancestors) > 1 else None
        printed = isinstance(holder, nodes.Output)
        tested = isinstance(holder, nodes.If) and holder.test is parent
        tested |= (
            isinstance(holder, nodes.Not)
            and len(ancestors) > 2
            and isinstance(ancestors[-3], nodes.If)
            and ancestors[-3].test is holder
        )
        if not (printed or tested):
            return False
        if not all(isinstance(a, _PLAIN_ANCESTORS) for a in ancestors[:-1]):
            return False
    return True


def _walk(
    node: nodes.Node, ancestors: tuple[nodes.Node, ...]
) -> Iterator[tuple[nodes.Node, tuple[nodes.Node, ...]]]:
    yield node, ancestors
    for child in node.iter_child_nodes():
        yield from _walk(child, (*ancestors, node))


@dataclasses.dataclass(frozen=True, slots=True)
class Form:
    """Text with holes: ``parts`` has the text between holes at even indexes (``None`` at
    the odd ones); hole ``k`` takes ``values[holes[k]]``."""

    parts: tuple[str | None, ...]
    holes: tuple[int, ...]

    def fill(self, values: tuple[str, ...]) -> str:
        """The text with ``values`` in its holes."""
        if len(self.holes) == 1:  # most lines of a card: one field (join: a Markup value
            # would escape the text around it if added with ``+``)
            return "".join((self.parts[0], values[self.holes[0]], self.parts[2]))  # type: ignore[arg-type]
        parts = list(self.parts)
        parts[1::2] = [values[k] for k in self.holes]
        return "".join(parts)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True, slots=True)
class Card:
    """One card variant of one paper: ``form.fill(values)`` is the card for a reader,
    ``values`` the fields ``get`` reads from their ``ItemView``, as the template prints
    them. ``lines``: the same cut into whole lines for quoted-printable: runs of lines
    without a hole already encoded (bytes, CRLF), each other line a ``Form`` and whether
    readers share it (no ``UNIQUE`` field in it: encoded once, then kept). ``plan``: the
    same as a ``render.segments.Plan`` over the values."""

    paper: Any
    get: Callable[[Any], Any]
    single: bool  # ``get`` reads one field (operator.attrgetter then gives no tuple)
    form: Form
    lines: tuple[bytes | tuple[Form, bool], ...]
    plan: Plan


# One card as a reader got it: the variant, its values as printed, its text.
Used = tuple[Card, tuple[str, ...], str]


def qp_line(line: str) -> bytes:
    """Whole lines (each LF included) as quoted-printable with CRLF: what they add to the
    encoding of any text they are lines of (quoted-printable works per line, RFC 2045
    §6.7; ``render.mime.QpCache`` relies on the same)."""
    return binascii.b2a_qp(line.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


class Cards:
    """The cards of one edition for one ``ItemLoop``: each (paper, variant) rendered once
    with markers, then filled per reader. ``clear()`` for a new edition; ``take_used()``
    gives the cards the last render used, for ``encode``."""

    def __init__(self, loop: ItemLoop) -> None:
        self.loop = loop
        token = secrets.token_hex(8)
        self._markers = {name: f"nlmark{token}{name.replace('_', '')}x" for name in PERSONAL}
        self._cut = re.compile("|".join(re.escape(m) for m in self._markers.values()))
        self._field_of = {marker: name for name, marker in self._markers.items()}
        self._personal = operator.attrgetter(*PERSONAL)
        self._known: dict[tuple[Any, ...], Card] = {}
        self._used: list[Used] = []
        self._lines: dict[str, bytes] = {}  # personal lines readers share, encoded
        # As Jinja prints a value: escaped (Markup passes as it is) or str().
        self._printed: Callable[[Any], str] = escape if loop.autoescape else str

    def clear(self) -> None:
        """Forget the cards (a new edition)."""
        self._known.clear()
        self._used.clear()
        self._lines.clear()

    def take_used(self) -> list[Used]:
        """The cards rendered since the last call, in document order."""
        used, self._used = self._used, []
        return used

    def card(self, item: ItemView) -> str:
        """The card of ``item`` for its reader: exactly what the loop's body renders."""
        known, printed = self._values(item)
        text = known.form.fill(printed)
        self._used.append((known, printed, text))
        # The card's text is the template's own output: escaped by it already.
        return Markup(text) if self.loop.autoescape else text  # noqa: S704

    def run(self, item: ItemView, out: list[Run]) -> None:
        """Appends the card of ``item`` to ``out`` as a run (``render.segments``): the
        same text as ``card``."""
        known, printed = self._values(item)
        out.append((known.plan, printed))

    def _values(self, item: ItemView) -> tuple[Card, tuple[str, ...]]:
        """The card variant of ``item`` and its personal values as printed."""
        paper = item.paper
        if all(self._personal(item)):  # the usual case: one card per paper and length
            key: tuple[Any, ...] = (paper.arxiv_id, item.short)
        else:  # a falsy field may be tested (``{% if item.reason %}``) or printed ("None")
            values = self._personal(item)
            key = (paper.arxiv_id, item.short, *(True if v else v for v in values))
        known = self._known.get(key)
        if known is None or (known.paper is not paper and known.paper != paper):
            known = self._render(item, key)
        got = known.get(item)
        printed = (self._printed(got),) if known.single else tuple(map(self._printed, got))
        return known, printed

    def _form(self, text: str, fields: list[str]) -> Form:
        """``text`` cut at its markers; each hole indexes ``fields`` (extended as met)."""
        parts: list[str | None] = []
        holes: list[int] = []
        at = 0
        for found in self._cut.finditer(text):
            name = self._field_of[found.group(0)]
            if name not in fields:
                fields.append(name)
            parts += [text[at : found.start()], None]
            holes.append(fields.index(name))
            at = found.end()
        parts.append(text[at:])
        return Form(tuple(parts), tuple(holes))

    def _render(self, item: ItemView, key: tuple[Any, ...]) -> Card:
        marked: dict[str, Any] = {
            name: (Markup(self._markers[name]) if name == "reason" else self._markers[name])  # noqa: S704 (a marker of letters and digits)
            if getattr(item, name)
            else getattr(item, name)
            for name in PERSONAL
        }
        text = self.loop.card.render({self.loop.target: dataclasses.replace(item, **marked)})
        fields: list[str] = []
        form = self._form(text, fields)
        lines: list[bytes | tuple[Form, bool]] = []
        if text.endswith("\n") and "\r" not in text:
            run: list[str] = []
            for line in text[:-1].split("\n"):
                line_form = self._form(line + "\n", fields)
                if not line_form.holes:
                    run.append(line + "\n")
                    continue
                if run:
                    lines.append(qp_line("".join(run)))
                    run = []
                used = {fields[k] for k in line_form.holes}
                lines.append((line_form, used.isdisjoint(UNIQUE_FIELDS)))
            if run:
                lines.append(qp_line("".join(run)))
        get = operator.attrgetter(*fields) if fields else (lambda _item: ())
        unique = frozenset(k for k, name in enumerate(fields) if name in UNIQUE_FIELDS)
        plan = Plan(form.parts[::2], form.holes, unique)  # type: ignore[arg-type]
        card = Card(item.paper, get, len(fields) == 1, form, tuple(lines), plan)
        self._known[key] = card
        return card

    def encode(self, document: str, used: list[Used], encode: Callable[[str], bytes]) -> bytes:
        """``document`` (rendered with the cards ``used``) as quoted-printable with CRLF,
        byte for byte ``encode(document)``: each card that fills whole lines is spliced in
        from its encoded lines (only lines with a reader's values encoded now), the text
        between cards goes to ``encode``."""
        if "\r" in document:  # a stray CR changes how lines end: the plain way
            return encode(document)
        out: list[bytes] = []
        start = at = 0
        kept = self._lines
        for card, printed, text in used:
            if document.startswith(text, at):
                found = at
            else:
                found = document.find(text, at)
                if found < 0:  # not the document these cards were rendered for
                    return encode(document)
            at = found + len(text)
            if not card.lines or (found and document[found - 1] != "\n"):
                continue  # not whole lines here: encoded with the text around it
            if found > start:
                out.append(encode(document[start:found]))
            for line in card.lines:
                if isinstance(line, bytes):
                    out.append(line)
                    continue
                form, shared = line
                filled = form.fill(printed)
                if not shared:
                    out.append(qp_line(filled))
                    continue
                encoded = kept.get(filled)
                if encoded is None:
                    encoded = qp_line(filled)
                    if len(kept) < MAX_KEPT_LINES:
                        kept[filled] = encoded
                out.append(encoded)
            start = at
        out.append(encode(document[start:]))
        return b"".join(out)
