"""The two paths of a digest's parts: whole (Jinja renders every email, the reference) and
assembled (cards once per edition, ``render.assemble``; the skeleton around them without
Jinja, ``render.skeleton``, where the template allows), with their quoted-printable.

paths = DigestPaths(html_template, text_template, html_cards, text_cards, skeletons)
html, text = paths.render(context)              # assembled when it can be, else whole
encoded_html, encoded_text = paths.encode(html, text, qp.encode)
size = paths.html_size(context)                 # the size budget's measure

A part made by its skeleton comes with its runs (``render.segments``), whose fixed lines
are encoded once per edition; a part made by Jinja's skeleton with the cards it used
(``Cards.encode``); any other text is encoded whole.

The assembled path is checked against the whole one on the first digest of each edition
(``new_edition()``): if they ever differ, the whole path is used from then on, with a
warning in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import jinja2

from newsletter.render import budget
from newsletter.render.assemble import Cards, Used
from newsletter.render.segments import Encoder, Plan, Run, document
from newsletter.render.skeleton import Skeleton

log = logging.getLogger(__name__)


class DigestPaths:
    """Renders a digest's HTML and text parts; see the module docstring."""

    def __init__(
        self,
        html: jinja2.Template,
        text: jinja2.Template,
        html_cards: Cards | None,
        text_cards: Cards | None,
        skeletons: tuple[Skeleton | None, Skeleton | None] = (None, None),
    ) -> None:
        self.html = html
        self.text = text
        self.cards: tuple[Cards, Cards] | None = None
        if html_cards is not None and text_cards is not None:
            self.cards = (html_cards, text_cards)
        self.skeletons = skeletons
        self._check = True
        self._used: tuple[list[Used] | list[Run], list[Used] | list[Run]] | None = None
        self._encoder = Encoder()
        self._rendered: tuple[str, str] | None = None

    @property
    def assembled(self) -> bool:
        """Whether digests are assembled from cards (else rendered whole)."""
        return self.cards is not None

    def new_edition(self) -> None:
        """Forget the cards; the next digest is checked against the whole render."""
        for cards in self.cards or ():
            cards.clear()
        self._encoder.clear()
        for skeleton in self.skeletons:
            if skeleton is not None:
                skeleton.clear()
        self._check = True

    def render(self, context: Mapping[str, Any]) -> tuple[str, str]:
        """HTML and text of the digest for ``context``, byte for byte the whole render."""
        self._used = self._rendered = None
        if self.cards is None:
            return self.html.render(context), self.text.render(context)
        html_cards, text_cards = self.cards
        html, html_used = _skeleton(html_cards, self.skeletons[0], context)
        text, text_used = _skeleton(text_cards, self.skeletons[1], context)
        if self._check:
            self._check = False
            whole = self.html.render(context), self.text.render(context)
            if whole != (html, text):
                log.warning("an assembled digest differs from the whole render: rendering whole")
                self.cards = None
                return whole
        self._used, self._rendered = (html_used, text_used), (html, text)
        return html, text

    def html_size(self, context: Mapping[str, Any]) -> int:
        """Bytes of the HTML part for ``context`` as the email carries it (the size
        budget's measure, ``budget.encoded_size``)."""
        if self.cards is None:
            return budget.encoded_size(self.html.render(context))
        return budget.encoded_size(_skeleton(self.cards[0], self.skeletons[0], context)[0])

    def encode(self, html: str, text: str, encode: Callable[[str], bytes]) -> tuple[bytes, bytes]:
        """``(encode(html), encode(text))``; for the parts of the last ``render`` made
        from cards, the cards' encoded lines are spliced in (``Cards.encode``)."""
        rendered, used = self._rendered, self._used
        if self.cards is None or used is None or rendered is None:
            return encode(html), encode(text)
        html_cards, text_cards = self.cards
        return (
            self._encode(html_cards, html, used[0], encode)
            if html is rendered[0]
            else encode(html),
            self._encode(text_cards, text, used[1], encode)
            if text is rendered[1]
            else encode(text),
        )

    def _encode(
        self,
        cards: Cards,
        document: str,
        used: list[Used] | list[Run],
        encode: Callable[[str], bytes],
    ) -> bytes:
        if used and isinstance(used[0][0], Plan):  # runs (``render.segments``)
            if "\r" in document:  # a stray CR changes how lines end: the plain way
                return encode(document)
            return self._encoder.encode(used)
        return cards.encode(document, used, encode)  # type: ignore[arg-type]


def _skeleton(
    cards: Cards, skeleton: Skeleton | None, context: Mapping[str, Any]
) -> tuple[str, list[Used] | list[Run]]:
    """The document from its skeleton without Jinja when there is one and it can
    (``render.skeleton``: with its runs), else from Jinja's skeleton (with the cards it
    used)."""
    runs = skeleton.render(context) if skeleton is not None else None
    if runs is not None:
        return document(runs), runs
    cards.take_used()
    text = cards.loop.skeleton.render(context)
    return text, cards.take_used()
