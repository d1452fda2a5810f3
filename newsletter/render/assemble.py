"""Render once per edition, personalise per reader: a digest template's paper cards are
rendered once per edition and each email is assembled from them (issue 18).

A digest template (``digest.mjml.j2`` after MJML, ``digest.txt.j2``) has one loop over a
section's papers, ``{% for item in section.items %}``, whose body draws one card from the
``ItemView`` ``item``. ``split_item_loop`` takes the template's Jinja syntax tree apart:

- the **card**: the loop's body as a template of its own, rendered once per edition for
  each paper and variant (short or whole, with or without a reason and feedback links),
  with a random marker standing in for each personal field (``PERSONAL``: the number, the
  reason, the feedback URLs); the result is cut at the markers;
- the **skeleton**: the template with that body replaced by ``{{ CARD(item) }}``, which
  joins the cut card with this reader's values, escaped as Jinja would have escaped them
  (``markupsafe.escape`` with autoescape, ``str`` without).

So Jinja runs per email only for the header, the section titles and the footer. The bytes
are those of the plain render by construction, and the split is only made when the loop's
body uses the personal fields in ways a marker survives: printed bare (``{{ item.reason
}}``) or tested bare (``{% if item.reason %}``), outside filters, macros and call blocks,
with no other name from the context (``loop``, ``section``, ``list_name``). Anything else
(an operator's own template, say) gets ``None`` and the renderer keeps the plain path. The
renderer also compares both paths on the first digest of every edition
(``Renderer.digest``), and tests compare them on random readers.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import jinja2
from jinja2 import meta, nodes
from markupsafe import Markup, escape

from newsletter.render.views import ItemView

# The fields of an ItemView that differ between readers; ``paper`` and ``short`` are the
# edition's (``short``: the size budget, ``render.budget``).
PERSONAL = ("number", "reason", "text_reason", "more_url", "less_url")
EDITION_FIELDS = ("paper", "short")
CARD = "nl_card__"  # the name the skeleton calls; not a name any template uses
# Nodes that print or test a personal field as it is; any other ancestor (a filter block,
# a macro, an expression around it) could change the marker and so is refused.
_PLAIN_ANCESTORS = (nodes.Template, nodes.Output, nodes.If, nodes.For, nodes.Not)


@dataclasses.dataclass(frozen=True, slots=True)
class ItemLoop:
    """A digest template split at its item loop: ``skeleton`` renders the email with each
    card from ``card_for(item)`` (given in the context as ``CARD``); ``card`` renders one
    card alone (``item`` in its context)."""

    skeleton: jinja2.Template
    card: jinja2.Template
    target: str
    autoescape: bool


def split_item_loop(env: jinja2.Environment, source: str) -> ItemLoop | None:
    """``source`` (a template's Jinja text, rendered in ``env``) split at its one loop
    ``{% for NAME in X.items %}``; ``None`` when it has no such loop, more than one, or a
    body that uses anything but ``NAME.paper``, ``NAME.short`` and the ``PERSONAL`` fields
    printed or tested bare."""
    loop = _the_item_loop(env.parse(source))
    if loop is None or not _card_is_plain(env, loop):
        return None
    target = loop.target.name  # type: ignore[attr-defined]
    card = nodes.Template(loop.body, lineno=1)
    skeleton_tree = env.parse(source)
    skeleton_loop = _the_item_loop(skeleton_tree)
    assert skeleton_loop is not None  # the same source parses the same way
    call = nodes.Call(nodes.Name(CARD, "load"), [nodes.Name(target, "load")], [], None, None)
    skeleton_loop.body = [nodes.Output([call])]
    for tree in (card, skeleton_tree):
        tree.set_environment(env)
        tree.set_lineno(1)
    autoescape = env.autoescape if isinstance(env.autoescape, bool) else False
    return ItemLoop(env.from_string(skeleton_tree), env.from_string(card), target, autoescape)


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


class Cards:
    """The cards of one edition for one ``ItemLoop``: each (paper, variant) rendered once
    with markers, then joined per reader. ``clear()`` for a new edition."""

    def __init__(self, loop: ItemLoop) -> None:
        self.loop = loop
        token = secrets.token_hex(8)
        self._markers = {name: f"nlmark{token}{name.replace('_', '')}x" for name in PERSONAL}
        self._cut = re.compile("|".join(re.escape(m) for m in self._markers.values()))
        self._field_of = {marker: name for name, marker in self._markers.items()}
        self._known: dict[tuple[Any, ...], tuple[Any, list[str | None], list[str]]] = {}
        self._to_text: Callable[[Any], str] = (
            (lambda value: str(escape(value))) if loop.autoescape else str
        )

    def clear(self) -> None:
        """Forget the cards (a new edition)."""
        self._known.clear()

    def card(self, item: ItemView) -> str:
        """The card of ``item`` for its reader: exactly what the loop's body renders."""
        values = [getattr(item, name) for name in PERSONAL]
        # Truthy personal values share a card; a falsy one is part of the key, since
        # the template may test it (``{% if item.reason %}``) or print it (None: "None").
        key = (item.paper.arxiv_id, item.short, *(True if v else v for v in values))
        known = self._known.get(key)
        if known is None or known[0] is not item.paper and known[0] != item.paper:
            known = self._render(item, key)
        _, slots, statics = known
        out = [statics[0]]
        to_text = self._to_text
        for index, slot in enumerate(slots):
            out.append(to_text(values[slot]))  # type: ignore[index]
            out.append(statics[index + 1])
        text = "".join(out)
        return Markup(text) if self.loop.autoescape else text

    def _render(self, item: ItemView, key: tuple[Any, ...]) -> tuple[Any, list[Any], list[str]]:
        marked = {
            name: (
                Markup(self._markers[name])
                if name == "reason"
                else self._markers[name]
            )
            if getattr(item, name)
            else getattr(item, name)
            for name in PERSONAL
        }
        stand_in = dataclasses.replace(item, **marked)
        text = self.loop.card.render({self.loop.target: stand_in})
        statics: list[str] = []
        slots: list[int] = []
        at = 0
        for found in self._cut.finditer(text):
            statics.append(text[at : found.start()])
            slots.append(PERSONAL.index(self._field_of[found.group(0)]))
            at = found.end()
        statics.append(text[at:])
        known = (item.paper, slots, statics)
        self._known[key] = known
        return known
