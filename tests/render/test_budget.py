"""The size budget: the encoded HTML part of every digest stays under 100 KB (Gmail clips
at about 102 KB), the unsubscribe and preferences links inside it, and a normal day whole."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from newsletter.links import Links
from newsletter.models import Edition, Message, Paper, Profile, Subscriber
from newsletter.render import Renderer
from newsletter.render.budget import Cut, encoded_size, fit
from newsletter.render.clean import clean_text
from newsletter.sources import arxiv_rss
from tests.render.editions import BASE_URL, NOW, edition_of, hf_papers, split_sections
from tests.support.needs import fixtures_dir, need

Sizer = Callable[[Cut], int]
CLIP = 100_000  # bytes; Gmail clips at about 102 KB


def largest(pattern: str, read: Callable[[Path], list[Paper]]) -> list[Paper]:
    """The papers of the fixture day matching ``pattern`` with the most papers."""
    days = sorted(fixtures_dir().glob(pattern))
    need(days, f"no {pattern} in {fixtures_dir()}")
    return max((read(day) for day in days), key=len)


@pytest.fixture
def worst_day() -> Edition:
    """The largest edition the real fixtures make: the largest arXiv RSS day and the
    largest Hugging Face day together (as ``make demo`` does)."""
    rss = largest("arxiv_rss_*.xml", lambda path: arxiv_rss.parse(path.read_bytes()))
    hf = largest("hf_daily_papers_*.json", hf_papers)
    papers = rss + [p for p in hf if p.arxiv_id not in {r.arxiv_id for r in rss}]
    assert len(papers) > 80
    return edition_of(papers, dt.date(2024, 3, 26))


def twenty_topics() -> Subscriber:
    topics = tuple(f"a rather long research topic number {n}" for n in range(1, 21))
    return Subscriber(
        id=2_000_000_000,
        email="a.very.long.address.for.the.worst.case@subdomain.example.com",
        name="Ada Lovelace",
        profile=Profile(topics=topics),
        token_nonce="worst-nonce",
    )


def html_part(message: Message) -> bytes:
    """The HTML part as the email carries it: its headers and quoted-printable body."""
    boundary = message_from_bytes(message.data, policy=default).get_boundary()
    assert boundary
    return next(
        part
        for part in message.data.split(f"--{boundary}".encode())
        if b"Content-Type: text/html" in part
    )


def link_offsets(message: Message, url_prefix: str) -> list[int]:
    """Byte offsets, in the encoded HTML part, of every link starting with ``url_prefix``."""
    part = html_part(message)
    head = part.index(b"\r\n\r\n") + 4
    return [
        head + encoded_size(message.html[: found.start()])
        for found in re.finditer(re.escape(f'href="{url_prefix}'), message.html)
    ]


def test_worst_case_stays_under_the_clip_with_its_links(
    renderer: Renderer, links: Links, worst_day: Edition
) -> None:
    reader = twenty_topics()
    sections = split_sections(list(worst_day.papers), reader.topics)
    message = renderer.digest(worst_day, reader, sections, now=NOW)

    assert len(html_part(message)) < CLIP, len(html_part(message))
    assert "Your topics: " + " · ".join(reader.topics) in message.html  # the header is whole
    first_paper = link_offsets(message, "https://arxiv.org/abs/")[0]
    for path in ("unsubscribe", "preferences"):
        offsets = link_offsets(message, f"{BASE_URL}/{path}/")
        assert len(offsets) == 2, path  # the top line and the footer
        assert offsets[0] < first_paper and offsets[-1] < CLIP, (path, offsets)

    # Later papers are short (title and reason), then "N more papers for you today".
    html = message.html
    cards = html.count('class="nl-links"')
    titles = html.count('class="nl-title"')
    shown = [clean_text(p.title) for p in worst_day.papers if p.arxiv_id in html]
    assert 10 <= cards < titles == len(shown) < len(worst_day.papers)
    hidden = len(worst_day.papers) - titles
    more = f"{hidden} more papers for you today"
    assert f'<a href="{links.web_view(reader, worst_day.date)}"' in html
    assert more in html and more in message.text
    assert html.index(more) > html.rindex('class="nl-title"')
    assert "Why this paper:" not in html.split('class="nl-links"')[-1].split(more)[0]
    # the text part shows the same papers, the same way
    assert len(re.findall(r"^\d+\. ", message.text, re.MULTILINE)) == titles


def test_a_normal_day_is_not_shortened(
    renderer: Renderer, largest_day: Edition, subscriber: Subscriber
) -> None:
    sections = split_sections(list(largest_day.papers), subscriber.topics)
    message = renderer.digest(largest_day, subscriber, sections, now=NOW)
    assert len(html_part(message)) < CLIP
    count = len(largest_day.papers)
    assert message.html.count('class="nl-links"') == message.html.count('class="nl-title"') == count
    assert "more papers for you today" not in message.html + message.text
    assert message.edition_date == largest_day.date  # names its outbox/html copy
    assert message.text.count("Why this paper:") == count


def test_fit_shortens_from_the_end_then_hides() -> None:
    def size_of(full_cost: int, short_cost: int, base: int = 100):
        def size(cut: Cut) -> int:
            return base + cut.full * full_cost + (cut.shown - cut.full) * short_cost

        return size

    assert fit(50, size_of(10, 2), budget=1_000) == Cut(50, 50, 50)  # fits: whole
    assert fit(50, size_of(30, 2), budget=1_000) == Cut(28, 50, 50)  # 100+28·30+22·2 = 984
    assert fit(50, size_of(80, 20), budget=1_000) == Cut(10, 5 + 10, 50)  # 10 cards, 5 titles
    assert fit(50, size_of(200, 20), budget=1_000) == Cut(0, 45, 50)  # no room for 10 cards
    assert fit(50, size_of(2_000, 2_000), budget=1_000) == Cut(0, 1, 50)  # one at least
    assert fit(3, size_of(400, 20), budget=1_000) == Cut(2, 3, 3)  # few: shorten, hide none
    assert fit(50, size_of(80, 20), budget=1_000, min_full=0) == Cut(0, 45, 50)


def additive(full_costs: list[int], short_costs: list[int], calls: list[Cut]) -> Sizer:
    """A size that adds each item's cost (its card or its title), recording each call."""

    def size(cut: Cut) -> int:
        calls.append(cut)
        return 500 + sum(full_costs[: cut.full]) + sum(short_costs[cut.full : cut.shown])

    return size


def test_fit_is_the_best_cut_of_its_kind() -> None:
    rng = random.Random(17)
    for _ in range(300):
        total = rng.randint(1, 60)
        calls: list[Cut] = []
        size = additive(
            [rng.randint(50, 3_000) for _ in range(total)],
            [rng.randint(10, 49) for _ in range(total)],
            calls,
        )
        budget = rng.randint(400, 40_000)
        cut = fit(total, size, budget=budget, min_full=rng.choice((0, 3, 10)))
        assert len(calls) == len(set(calls))  # each cut measured once
        assert size(cut) <= budget or cut.shown == 1
        if cut.full == total:
            continue
        # no better cut of the same kind: one more card, or one more title, is too much
        if cut.shown == total:
            assert size(Cut(cut.full + 1, total, total)) > budget
        elif cut.shown > 1:
            assert size(Cut(cut.full, cut.shown + 1, total)) > budget
