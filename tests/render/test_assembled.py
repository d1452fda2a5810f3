"""Render once per edition: an assembled digest (cards once per edition, ``render.assemble``)
has exactly the bytes of the plain path (Jinja renders every email whole).

Both renderers get the same random readers: topics, sections (empty ones too), reasons,
daily and weekly, names and addresses, on real fixture days mixed with hostile papers
(HTML, quoted-printable-sensitive characters, non-ASCII, long unbroken lines), with and
without the size budget cutting in, across several editions.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from pathlib import Path
from typing import Any

import jinja2
import pytest

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Paper, Profile, RankedItem, Section, Subscriber
from newsletter.render import Renderer
from newsletter.render.assemble import split_item_loop
from newsletter.render.compile import jinja_environment
from newsletter.render.mime import QpCache
from newsletter.render.segments import Plan
from newsletter.sources import arxiv_rss
from tests.render.editions import LARGEST_DAY, NOW, edition_of, hf_papers
from tests.support.needs import fixtures_dir, need

# Pieces of text a feed or a reader could send, chosen for what they do to HTML escaping,
# quoted-printable (=, trailing space or tab, a lone dot, 76-column lines) and encodings.
AWKWARD = [
    "<script>alert(1)</script>",
    "A & B <b>bold</b> \"quoted\" 'single'",
    "x = y == z",
    "trailing space ",
    "tab\t",
    ".",
    "Café, naïve, Zoë; 深度学习; 🚀 emoji",
    "=?utf-8?q?encoded?=",
    "{{ not a template }} {% neither %}",
    "a" * 90,
    "word " * 30,
    "line\nbreak",
    "−→·▲",
    "",
]


def awkward_text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(AWKWARD) for _ in range(words)).strip() or "x"


def hostile_papers(rng: random.Random, count: int) -> list[Paper]:
    papers = []
    for n in range(count):
        papers.append(
            Paper(
                arxiv_id=f"2699.{n:05d}" if n % 3 else f"hep-th/99{n:05d}",  # old-style ids too
                title=awkward_text(rng, rng.randint(1, 6)),
                abstract=awkward_text(rng, rng.randint(0, 40)),
                authors=tuple(awkward_text(rng, 2) for _ in range(rng.randint(0, 12))),
                upvotes=rng.choice([None, 0, 1, 250]),
                categories=tuple(rng.choice(["cs.LG", "cs.CL", "stat.ML", "<x>"]) for _ in range(3))
                if rng.random() < 0.6
                else (),
                ai_summary=awkward_text(rng, 12) if rng.random() < 0.4 else None,
                github_repo=rng.choice([None, "https://github.com/a/b", "javascript:alert(1)"]),
                sources=("hf_daily",) if rng.random() < 0.5 else ("arxiv",),
            )
        )
    return papers


def random_sections(rng: random.Random, papers: list[Paper]) -> tuple[Section, ...]:
    """1-5 sections of random papers (some empty, with a note), random reasons."""
    sections = []
    for index in range(rng.randint(0, 5)):
        topic = awkward_text(rng, rng.randint(1, 3)) if rng.random() < 0.8 else None
        chosen = rng.sample(papers, min(len(papers), rng.choice([0, 1, 3, 8, 15])))
        items = tuple(
            RankedItem(
                paper=paper,
                score=rng.random(),
                topic=topic,
                matched_terms=tuple(awkward_text(rng, 1) for _ in range(rng.randint(0, 2))),
                reason=rng.choice(["", f"matches “{topic}”", awkward_text(rng, 5)]),
            )
            for paper in chosen
        )
        title = topic or f"Also today {index}"
        note = rng.choice(["", "Nothing new on this topic today.", awkward_text(rng, 4)])
        sections.append(Section(title=title, items=items, topic=topic, empty_note=note))
    return tuple(sections)


def random_reader(rng: random.Random, sid: int) -> Subscriber:
    return Subscriber(
        id=sid,
        email=f"reader{sid}@example.org",
        name=rng.choice(["", "Ada Lovelace", "Zoë Ünïcode", "O'Brien, Jr.", "=?x?="]),
        profile=Profile(topics=tuple(awkward_text(rng, 2) for _ in range(rng.randint(0, 4)))),
        frequency=rng.choice(["daily", "weekly"]),
        token_nonce=f"nonce-{sid}",
    )


@pytest.fixture
def renderers(settings: Settings, links: Links) -> tuple[Renderer, Renderer]:
    assembled = Renderer(settings, links)
    assert assembled._digest.assembled, "the built-in templates must split"
    return assembled, Renderer(settings, links, assembled=False)


def test_assembled_digests_are_the_plain_bytes_on_random_readers(
    renderers: tuple[Renderer, Renderer], real_fixtures: Path
) -> None:
    assembled, plain = renderers
    rng = random.Random(18)
    real = hf_papers(real_fixtures / LARGEST_DAY)
    days = [
        edition_of(real, dt.date(2026, 8, 18), edition_id=1),
        edition_of(real[:5] + hostile_papers(rng, 25), dt.date(2026, 8, 19), edition_id=2),
        edition_of(hostile_papers(rng, 40), dt.date(2026, 8, 20), edition_id=3),
        edition_of(real, dt.date(2026, 8, 18), edition_id=1),  # back to the first edition
    ]
    compared = 0
    for edition in days:
        papers = list(edition.papers)
        for sid in range(1, 61):
            reader = random_reader(rng, rng.randint(1, 2**31 - 1))
            sections = random_sections(rng, papers)
            now = NOW + dt.timedelta(minutes=sid)
            fast = assembled.digest(edition, reader, sections, now=now)
            whole = plain.digest(edition, reader, sections, now=now)
            assert fast.html == whole.html, (edition.id, sid)
            assert fast.text == whole.text, (edition.id, sid)
            assert fast.data == whole.data, (edition.id, sid)
            compared += 1
        # Pages without a reader (no feedback links: the falsy variants) and the web view.
        sections = random_sections(rng, papers)
        assert assembled.web_page(edition, sections) == plain.web_page(edition, sections)
        reader = random_reader(rng, 7)
        assert assembled.personal_page(edition, reader, sections) == plain.personal_page(
            edition, reader, sections
        )
    assert compared == 240
    assert assembled._digest.assembled, "the assembled path fell back: it was not compared"


def test_assembled_digests_match_where_the_size_budget_cuts(
    renderers: tuple[Renderer, Renderer], real_fixtures: Path
) -> None:
    assembled, plain = renderers
    rss_days = sorted(fixtures_dir().glob("arxiv_rss_*.xml"))
    need(rss_days, f"no arxiv_rss_*.xml in {fixtures_dir()}")
    rss = max((arxiv_rss.parse(day.read_bytes()) for day in rss_days), key=len)
    hf = hf_papers(real_fixtures / LARGEST_DAY)
    edition = edition_of(rss + hf, dt.date(2024, 3, 26))
    rng = random.Random(3)
    for sid in range(1, 5):
        reader = random_reader(rng, sid)
        papers = list(edition.papers)
        rng.shuffle(papers)
        topics = [f"topic {n}" for n in range(rng.randint(4, 20))]
        sections = tuple(
            Section(
                title=topic,
                topic=topic,
                items=tuple(
                    RankedItem(paper=p, score=1.0, topic=topic, reason=f"matches {topic}")
                    for p in papers[index :: len(topics)]
                ),
            )
            for index, topic in enumerate(topics)
        )
        fast = assembled.digest(edition, reader, sections, now=NOW)
        whole = plain.digest(edition, reader, sections, now=NOW)
        cards = whole.html.count('class="nl-links"')
        assert cards < sum(len(s.items) for s in sections), "the budget did not cut in"
        assert fast.data == whole.data
    assert assembled._digest.assembled


def test_line_aligned_cards_and_inline_cards_encode_as_the_whole_text(
    settings: Settings, links: Links, tmp_path: Path, real_fixtures: Path
) -> None:
    # An operator's text template whose first card of a section starts inside a line
    # (after the section's title) and ends with one: the quoted-printable splice must leave
    # it to the line encoder, same bytes.
    (tmp_path / "digest.txt.j2").write_text(
        "{{ list_name }}: {{ heading }}\n"
        "{% for section in sections %}{{ section.title }}:"
        "{% for item in section.items %} [{{ item.number }} {{ item.paper.text_title }}"
        " {{ item.more_url }}]\n{% endfor %}\n{% endfor %}\n"
        "{% include '_footer.txt.j2' %}",
        encoding="utf-8",
    )
    custom = settings.model_copy(update={"templates_dir": tmp_path})
    assembled, plain = Renderer(custom, links), Renderer(custom, links, assembled=False)
    assert assembled._digest.assembled
    edition = edition_of(hf_papers(real_fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
    rng = random.Random(9)
    for sid in range(1, 20):
        reader = random_reader(rng, sid)
        sections = random_sections(rng, list(edition.papers))
        assert (
            assembled.digest(edition, reader, sections, now=NOW).data
            == plain.digest(edition, reader, sections, now=NOW).data
        )


@pytest.mark.parametrize(
    "body",
    [
        "{{ loop.index }}. {{ item.paper.text_title }}",  # the loop's own variable
        "{{ item.reason | upper }}",  # a filter on a personal field
        "{% filter upper %}{{ item.more_url }}{% endfilter %}",
        "{{ section.title }} {{ item.number }}",  # a name from outside the card
        "{{ item }}",  # the item whole
        "{{ item.number + 1 }}",  # arithmetic on a personal field
        "{% set r = item.reason %}{{ r }}",  # a personal field under another name
    ],
)
def test_cards_that_could_lose_a_marker_are_not_split(body: str) -> None:
    env = jinja_environment([], autoescape=False)
    source = "{% for section in sections %}{% for item in section.items %}"
    assert split_item_loop(env, source + body + "{% endfor %}{% endfor %}") is None


def test_plain_cards_are_split() -> None:
    env = jinja_environment([], autoescape=True)
    body = "{% set p = item.paper %}{% if item.reason %}{{ item.reason }}{% endif %}{{ p.title }}"
    source = "{% for section in sections %}{% for item in section.items %}"
    assert split_item_loop(env, source + body + "{% endfor %}{% endfor %}") is not None


def test_templates_that_do_not_split_render_whole_with_the_same_bytes(
    settings: Settings, links: Links, tmp_path: Path, real_fixtures: Path
) -> None:
    (tmp_path / "digest.txt.j2").write_text(
        "{% for section in sections %}{% for item in section.items %}"
        "{{ loop.index }}/{{ item.number }} {{ item.paper.text_title }}\n"
        "{% endfor %}{% endfor %}",
        encoding="utf-8",
    )
    custom = settings.model_copy(update={"templates_dir": tmp_path})
    kept_whole = Renderer(custom, links)
    assert not kept_whole._digest.assembled
    edition = edition_of(hf_papers(real_fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
    reader = random_reader(random.Random(1), 5)
    sections = random_sections(random.Random(2), list(edition.papers))
    assert (
        kept_whole.digest(edition, reader, sections, now=NOW).data
        == Renderer(custom, links, assembled=False).digest(edition, reader, sections, now=NOW).data
    )


@pytest.mark.parametrize("path", ["jinja skeleton", "skeleton without jinja"])
def test_an_assembled_digest_that_differs_falls_back_to_the_whole_render(
    renderers: tuple[Renderer, Renderer],
    real_fixtures: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    assembled, plain = renderers
    edition = edition_of(hf_papers(real_fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
    reader = random_reader(random.Random(4), 11)
    sections = random_sections(random.Random(5), list(edition.papers))
    cards = assembled._digest.cards
    text_skeleton = assembled._digest.skeletons[1]
    assert cards is not None and text_skeleton is not None
    # A skeleton that renders something else: the edition's first digest is compared whole.
    if path == "jinja skeleton":
        assembled._digest.skeletons = (assembled._digest.skeletons[0], None)
        monkeypatch.setattr(
            cards[1].loop, "skeleton", assembled._text_env.from_string("not the digest")
        )
    else:
        wrong = [(Plan(["not the digest"]), ())]
        monkeypatch.setattr(text_skeleton, "render", lambda _context: wrong)
    with caplog.at_level(logging.WARNING, logger="newsletter.render.paths"):
        message = assembled.digest(edition, reader, sections, now=NOW)
    assert "differs from the whole render" in caplog.text
    assert not assembled._digest.assembled
    assert message.data == plain.digest(edition, reader, sections, now=NOW).data


def test_the_splice_gives_the_line_encoder_bytes(
    renderers: tuple[Renderer, Renderer], real_fixtures: Path
) -> None:
    assembled, _ = renderers
    edition = edition_of(hf_papers(real_fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
    rng = random.Random(6)
    cards = assembled._digest.cards
    assert cards is not None
    for sid in range(1, 15):
        reader = random_reader(rng, sid)
        context = assembled._digest_context(
            edition, reader, random_sections(rng, list(edition.papers))
        )
        html, text = assembled._digest.render(context)
        spliced = assembled._digest.encode(html, text, QpCache().encode)
        assert spliced == (QpCache().encode(html), QpCache().encode(text))


def test_wordwrap_once_wraps_as_jinja_does() -> None:
    env = jinja_environment([], autoescape=False)
    plain = jinja2.Environment(keep_trailing_newline=True)
    rng = random.Random(12)
    source = "{{ s | wordwrap(%d) }}|{{ s | wordwrap(%d, False, '\\n> ', False) }}"
    addresses = ["a@b.org", "long.reader.name+tag@example.org", "x-y@z.org", "ü@ö.de", "a@b-",
                 "-a@b", "a@b--", "a\u2028b@c.d", "a\x85@b", "\ue000@x", "@", "a@b,", "(a@b.c)",
                 "z" * 70 + "@y.org", "a@b@c"]  # fmt: skip
    fixed = [
        f"{before}{address}{after} subscribed to the list with the topics: a, b-c, déf."
        for before in ("You get this email because ", "because ab-", "because ab--", "x")
        for address in ("cd@x.org", "cd.ef-gh@x.org", "a@b", "q" * 40 + "@x.org")
        for after in ("", "-ab", "--ab", ",", "\u2028next")
    ]
    for text in fixed:
        for width in (8, 15, 30, 40, 50, 72):
            ours = env.from_string(source % (width, width)).render(s=text)
            assert ours == plain.from_string(source % (width, width)).render(s=text), text
    for _ in range(300):
        words = [rng.choice(addresses) if rng.random() < 0.2 else awkward_text(rng, 1)
                 for _ in range(rng.randint(0, 30))]  # fmt: skip
        text = rng.choice(["", " ", "--", "-"]).join(words) + rng.choice(["", "\n", "-a-b-c-" * 9])
        width = rng.randint(5, 80)
        ours = env.from_string(source % (width, width)).render(s=text)
        theirs = plain.from_string(source % (width, width)).render(s=text)
        assert ours == theirs, (text, width)
        assert env.from_string(source % (width, width)).render(s=text) == theirs  # kept


HOSTILE_NAMES = [
    "",
    "Zoë <b>Ünïcode</b>",
    'O\'Brien, Jr. & "Co"',
    "=?utf-8?q?x?=",
    "a" * 90,
    "{{ x }}",
]


def test_skeleton_without_jinja_gives_the_plain_bytes_on_hostile_readers(
    settings: Settings, links: Links, real_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hostile list settings, names and topics, long topic lists, up to 20 sections (empty
    # ones too), both parts; every email must come from the skeleton without Jinja.
    hostile = settings.model_copy(
        update={"list_name": 'Papers <&> "=x" · Zoë', "postal_address": "1 Rue d'Été = . "}
    )
    assembled, plain = Renderer(hostile, links), Renderer(hostile, links, assembled=False)
    assert all(s is not None for s in assembled._digest.skeletons)
    fallbacks: list[object] = []
    skeleton_type = type(assembled._digest.skeletons[0])
    render = skeleton_type.render

    def counted(self: Any, context: Any) -> Any:
        runs = render(self, context)
        if runs is None:
            fallbacks.append(context)
        return runs

    monkeypatch.setattr(skeleton_type, "render", counted)
    rng = random.Random(1818)
    real = hf_papers(real_fixtures / LARGEST_DAY)
    edition = edition_of(real[:10] + hostile_papers(rng, 30), dt.date(2026, 8, 21), edition_id=9)
    papers = list(edition.papers)
    for sid in range(1, 81):
        topics = tuple(awkward_text(rng, rng.randint(1, 12)) for _ in range(rng.randint(0, 9)))
        reader = Subscriber(
            id=rng.randint(1, 2**31 - 1),
            email=f"r{sid}@example.org",
            name=rng.choice(HOSTILE_NAMES),
            profile=Profile(topics=topics),
            frequency=rng.choice(["daily", "weekly"]),
            token_nonce=f"n{sid}",
        )
        sections = []
        for index in range(rng.randint(0, 20)):
            topic = awkward_text(rng, rng.randint(1, 8)) if rng.random() < 0.9 else None
            chosen = rng.sample(papers, rng.choice([0, 0, 1, 2, 5]))
            items = tuple(
                RankedItem(
                    paper=p,
                    score=1.0,
                    topic=topic,
                    reason=rng.choice(["", awkward_text(rng, rng.randint(1, 20))]),
                )
                for p in chosen
            )
            note = rng.choice(["", awkward_text(rng, 3)])
            sections.append(Section(topic or f"Also {index}", items, topic, note))
        now = NOW + dt.timedelta(seconds=sid)
        fast = assembled.digest(edition, reader, tuple(sections), now=now)
        whole = plain.digest(edition, reader, tuple(sections), now=now)
        assert (fast.html, fast.text, fast.data) == (whole.html, whole.text, whole.data), sid
    assert not fallbacks, "an email was rendered by Jinja's skeleton"
    assert assembled._digest.assembled
