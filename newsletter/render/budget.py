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
cut that fits (interpolation search: a few renders, only for the emails that need it).
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

    ``size`` must grow with ``full`` and ``shown``; each cut is measured once (a few
    renders on a real digest, see ``_largest``). At least one item is shown, whatever the
    budget."""
    known: dict[Cut, int] = {}

    def measured(cut: Cut) -> int:
        if cut not in known:
            known[cut] = size(cut)
        return known[cut]

    def fits_upto(low: int, high: int, cut_at: Callable[[int], Cut]) -> int | None:
        return _largest(low, high, lambda n: measured(cut_at(n)), budget)

    whole = Cut(total, total, total)
    if measured(whole) <= budget:
        return whole
    keep = min(min_full, total)
    full = fits_upto(keep, total - 1, lambda n: Cut(n, total, total))
    if full is not None:
        return Cut(full, total, total)
    shown = fits_upto(keep, total - 1, lambda n: Cut(keep, n, total))
    if keep and shown is not None:
        return Cut(keep, shown, total)
    full = fits_upto(0, keep - 1, lambda n: Cut(n, total, total))
    if full is not None:
        return Cut(full, total, total)
    shown = fits_upto(1, total - 1, lambda n: Cut(0, n, total))
    return Cut(0, shown or min(1, total), total)


def _largest(low: int, high: int, size_at: Callable[[int], int], budget: int) -> int | None:
    """The largest n in [low, high] with ``size_at(n) <= budget`` (``size_at`` grows with
    n; ``size_at(high + 1)`` is over budget), or None when none fits.

    Interpolation search: a size grows about linearly with n, so the guess from the two
    ends of the bracket is close (2 or 3 renders instead of log2 of the range); a step
    that does not halve the bracket is followed by a plain halving, so it never does
    worse than about twice a binary search."""
    if low > high or size_at(low) > budget:
        return None
    good, good_size, bad, bad_size = low, size_at(low), high + 1, size_at(high + 1)
    halve = False
    while bad - good > 1:
        width = bad - good
        if halve or bad_size <= good_size:
            guess = (good + bad) // 2
        else:
            guess = good + (budget - good_size) * width // (bad_size - good_size)
        guess = min(max(guess, good + 1), bad - 1)
        guess_size = size_at(guess)
        if guess_size <= budget:
            good, good_size = guess, guess_size
        else:
            bad, bad_size = guess, guess_size
        halve = not halve and bad - good > width // 2
    return good
