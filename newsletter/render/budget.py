"""The size budget of a digest: its encoded HTML part stays under Gmail's clip.

Gmail shows "[Message clipped]" and hides the rest of an HTML part past about 102 KB,
footer and unsubscribe link included. So every digest's HTML, as quoted-printable, stays
within ``HTML_BUDGET`` bytes, whatever the number of topics and papers:

1. everything fits: nothing changes (a normal day);
2. otherwise later papers shorten, from the end backwards: title and reason only
   (``ItemView.short``), as few as needed, the first ``MIN_FULL`` keeping their card;
3. if that is still too much, the last papers go, and the email ends with "N more papers
   for you today" (``Cut.hidden``) and a link to the web view (``Links.web_view``).

The top line (view, preferences, unsubscribe) comes before the first section and the
footer after the last, so both sit inside the budget.

Pure: ``fit`` is given the size of a cut (render, then encode) and searches the largest
cut that fits (binary search: a few renders, only for the emails that need it).
"""

from __future__ import annotations

import binascii
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from newsletter.render.views import SectionView

# Bytes of quoted-printable HTML. Gmail clips at about 102 KB; the part's own headers and
# a margin for what differs between readers keep the whole part under 100 000 bytes.
HTML_BUDGET = 98_000
# Papers that keep their card (abstract, links) before any is left out: a long day shows
# its first papers in full, then titles, then "N more".
MIN_FULL = 10


@dataclass(frozen=True, slots=True)
class Cut:
    """How much of a digest is shown, counting items in reading order: the first ``full``
    with their card, then up to ``shown`` with title and reason only; ``total`` in all."""

    full: int
    shown: int
    total: int

    @property
    def hidden(self) -> int:
        """Items left out, counted in "N more papers for you today"."""
        return self.total - self.shown


def encoded_size(html: str) -> int:
    """Bytes of ``html`` as the email carries it: UTF-8, quoted-printable, CRLF line ends
    (what ``render.mime`` writes)."""
    data = html.replace("\r\n", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(data, istext=True)
    return len(encoded) + encoded.count(b"\n")


def count_items(sections: Sequence[SectionView]) -> int:
    """Items in ``sections``."""
    return sum(len(s.items) for s in sections)


def apply(sections: Sequence[SectionView], cut: Cut) -> list[SectionView]:
    """``sections`` as ``cut`` shows them: items past ``cut.full`` short, items past
    ``cut.shown`` left out (and a section left with none of its items, too)."""
    out = []
    index = 0
    for section in sections:
        if not section.items:
            out.append(section)
            continue
        items = []
        for item in section.items:
            if index < cut.shown:
                items.append(item if index < cut.full else dataclasses.replace(item, short=True))
            index += 1
        if items:
            out.append(dataclasses.replace(section, items=tuple(items)))
    return out


def fit(
    total: int, size: Callable[[Cut], int], budget: int = HTML_BUDGET, min_full: int = MIN_FULL
) -> Cut:
    """The cut of ``total`` items that shows the most within ``budget`` bytes, where
    ``size(cut)`` is the encoded size of the email so cut:

    1. all full, if it fits;
    2. else the most full items (at least ``min_full``), the rest short;
    3. else ``min_full`` full, then the most short items, the rest hidden;
    4. else (``min_full`` cards alone are too much) fewer cards, every item shown;
    5. else no card, the most short items, the rest hidden.

    ``size`` must grow with ``full`` and ``shown``; it is called about 2·log2(total) times
    at most. At least one item is shown, whatever the budget."""
    whole = Cut(total, total, total)
    if size(whole) <= budget:
        return whole
    keep = min(min_full, total)
    full = _largest(keep, total - 1, lambda n: size(Cut(n, total, total)) <= budget)
    if full is not None:
        return Cut(full, total, total)
    shown = _largest(keep, total - 1, lambda n: size(Cut(keep, n, total)) <= budget)
    if keep and shown is not None:
        return Cut(keep, shown, total)
    full = _largest(0, keep - 1, lambda n: size(Cut(n, total, total)) <= budget)
    if full is not None:
        return Cut(full, total, total)
    shown = _largest(1, total - 1, lambda n: size(Cut(0, n, total)) <= budget)
    return Cut(0, shown or min(1, total), total)


def _largest(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """The largest n in [low, high] with ``fits(n)`` (``fits`` true up to some n, then
    false), or None when none fits."""
    found = None
    while low <= high:
        middle = (low + high) // 2
        if fits(middle):
            found, low = middle, middle + 1
        else:
            high = middle - 1
    return found
