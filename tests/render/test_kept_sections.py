"""Sections kept whole per edition (``render.kept_sections``) under the edition token's
stand-in (``render.stand_in``): readers who share sections get the plain path's bytes,
with their own token in every link."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Profile, Subscriber
from newsletter.render import Renderer, kept_sections
from newsletter.render.kept_sections import KeptSections
from newsletter.render.segments import Plan, Run, document
from tests.render.editions import LARGEST_DAY, NOW, edition_of, hf_papers
from tests.render.test_assembled import hostile_papers, random_reader, random_sections

# Subscriber ids whose edition tokens differ in length (uvarint of 1 to 5 bytes).
ID_SIZES = (1, 127, 128, 16_383, 16_384, 2_097_152, 2**31 - 1)


def test_readers_sharing_sections_get_the_plain_bytes_with_their_own_token(
    settings: Settings, links: Links, real_fixtures: Path
) -> None:
    assembled, plain = Renderer(settings, links), Renderer(settings, links, assembled=False)
    rng = random.Random(1818)
    real = hf_papers(real_fixtures / LARGEST_DAY)
    days = [
        edition_of(real, dt.date(2026, 8, 18), edition_id=1),
        edition_of(real[:5] + hostile_papers(rng, 25), dt.date(2026, 8, 19), edition_id=2),
    ]
    for edition in days:
        # Sections that readers share, at different places (their papers numbered on).
        pool = [s for _ in range(4) for s in random_sections(rng, list(edition.papers))]
        for sid in range(1, 61):
            base = rng.choice(ID_SIZES)
            reader = random_reader(rng, max(1, base - rng.randint(0, 3)))
            # Equal sections as new objects, as the ranker gives them to each reader.
            chosen = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
            sections = tuple(dataclasses.replace(s) for s in chosen)
            now = NOW + dt.timedelta(minutes=sid)
            fast = assembled.digest(edition, reader, sections, now=now)
            whole = plain.digest(edition, reader, sections, now=now)
            assert (fast.html, fast.text, fast.data) == (whole.html, whole.text, whole.data), sid
            token = links.edition_token(reader, edition.date)
            assert sections == () or token in fast.html
        skeletons = assembled._digest.skeletons
        assert all(s is not None and s.kept.kept_count() > 0 for s in skeletons), "never kept"
    assert assembled._digest.assembled


def test_one_reader_cannot_get_another_readers_token(
    settings: Settings, links: Links, real_fixtures: Path
) -> None:
    renderer = Renderer(settings, links)
    edition = edition_of(hf_papers(real_fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
    sections = random_sections(random.Random(3), list(edition.papers))
    while not any(s.items for s in sections):
        sections = random_sections(random.Random(4), list(edition.papers))
    tokens = set()
    for sid in range(200, 210):  # the same token length, the same sections
        reader = Subscriber(sid, f"r{sid}@example.org", profile=Profile(("a",)), token_nonce="n")
        message = renderer.digest(edition, reader, sections, now=NOW)
        token = links.edition_token(reader, edition.date)
        others = tokens - {token}
        assert token in message.text and not any(t in message.data.decode() for t in others)
        tokens.add(token)


def test_kept_sections_render_twice_then_give_one_run() -> None:
    kept = KeptSections()
    calls: list[object] = []
    runs: list[Run] = [(Plan(["<h2>", "</h2>\n<p>card</p>\n"]), ("Title",))]

    def render(out: list[Run]) -> None:
        calls.append(out)
        out.extend(runs)

    section, equal_but_other = ["a"], ["a"]
    texts = []
    for one in (section, section, section, equal_but_other):
        out: list[Run] = []
        kept.add(one, render, out)
        texts.append(document(out))
    assert texts == [document(runs)] * 4
    assert len(calls) == 3  # met, kept, given kept; another object is rendered
    assert kept.kept_count() == 1
    small = KeptSections(max_chars=0)  # nothing fits: rendered every time
    for _ in range(3):
        small.add(section, render, [])
    assert len(calls) == 6 and small.kept_count() == 0


def test_sections_met_once_are_forgotten_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kept_sections, "MAX_MET", 10)
    kept = KeptSections()
    runs: list[Run] = [(Plan(["x\n"]), ())]
    popular = ["popular"]
    for _ in range(2):
        kept.add(popular, lambda out: out.extend(runs), [])
    others = [[n] for n in range(30)]  # each met once (a budget's cut sections, say)
    for other in others:
        kept.add(other, lambda out: out.extend(runs), [])
    assert kept.kept_count() == 1
    out: list[Run] = []
    kept.add(popular, lambda _out: pytest.fail("rendered again"), out)
    assert document(out) == "x\n"
