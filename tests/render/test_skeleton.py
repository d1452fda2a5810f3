"""The skeleton without Jinja (``render.skeleton``) and the run encoder
(``render.segments``): operator templates that split render the plain bytes, those that
cannot split are refused, and runs encode as ``b2a_qp`` encodes their joined text."""

from __future__ import annotations

import binascii
import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest

from newsletter.config import Settings
from newsletter.errors import TemplateError
from newsletter.links import Links
from newsletter.models import Profile
from newsletter.render import Renderer
from newsletter.render.assemble import split_item_loop
from newsletter.render.compile import jinja_environment
from newsletter.render.segments import Encoder, Plan, document
from newsletter.render.skeleton import split_skeleton
from tests.render.editions import LARGEST_DAY, NOW, edition_of, hf_papers
from tests.render.test_assembled import AWKWARD, random_reader, random_sections

# Pieces for random lines: what moves quoted-printable's soft breaks and escapes.
QP_PIECES = [
    *AWKWARD,
    " ",
    "\t",
    "=",
    ".",
    "\n",
    ".\n",
    " \n",
    "x" * 70,
    "é" * 30,
    "https://x.org/f/abc",
]


def qp(text: str) -> bytes:
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def random_text(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(QP_PIECES) for _ in range(rng.randint(0, most)))


def test_runs_encode_as_b2a_qp_encodes_their_text() -> None:
    rng = random.Random(2920)
    encoder = Encoder()
    plans = []
    for _ in range(60):
        holes = rng.randint(0, 5)
        parts = [random_text(rng, 8) for _ in range(holes + 1)]
        if rng.random() < 0.5:  # a long shared start before a reader's own value
            parts[0] = "<div>" + "y" * rng.randint(60, 300) + random_text(rng, 4)
        unique = frozenset(k for k in range(holes) if rng.random() < 0.5)
        plans.append(Plan(parts, None, unique))
    for _ in range(400):
        runs = []
        for _ in range(rng.randint(0, 8)):
            plan = rng.choice(plans)
            values = [
                rng.choice(
                    ["", "\n", "https://x.org/u/" + "t" * rng.randint(0, 90), random_text(rng, 4)]
                )
                for _ in plan.parts[1:]
            ]
            runs.append((plan, values))
        text = document(runs)
        if "\r" in text:
            continue
        assert encoder.encode(runs) == qp(text), repr(text)
    # Every column a long shared start can end at, before short values and line ends.
    for length in range(60, 240):
        for value in ("a", " ", "=", ".", "é", "ab", "a ", "https://x.org/u/t"):
            for after in ("\n", "", " \n", "b\n.\n"):
                for start in ("y", "=", " ", "é"):
                    plan = Plan([start * length, after], None, frozenset({0}))
                    runs = [(plan, [value])]
                    assert encoder.encode(runs) == qp(document(runs)), (length, value, after)


def test_fixed_text_runs_encode_as_b2a_qp_encodes_them() -> None:
    # A plan of fixed text only (a section kept whole, ``render.kept_sections``) takes a
    # shorter walk: the same bytes after, before and between runs with values.
    rng = random.Random(2045)
    encoder = Encoder()
    for _ in range(1500):
        runs = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.6:
                runs.append((Plan([random_text(rng, 30)]), ()))
            else:
                runs.append((Plan([random_text(rng, 5), random_text(rng, 5)]), ["v" * 80]))
        text = document(runs)
        if "\r" not in text:
            assert encoder.encode(runs) == qp(text), repr(text)


@pytest.mark.parametrize(
    "source",
    [
        # filters, expressions, elif/else, tests and comparisons on the context
        "{{ list_name | upper }} {{ topics | join(', ') }}{% if topics | length > 2 %}!"
        "{% elif topics %}?{% else %}-{% endif %}\n"
        "{% for s in sections %}{{ s.title }}|{{ '=' * (s.title | length) }}|"
        "{{ s.items | length }} paper{{ 's' if s.items | length != 1 else '' }}\n"
        "{% if not s.items %}{{ s.empty_note }}\n{% endif %}"
        "{% for item in s.items %}{{ item.number }}. {{ item.paper.text_title }}"
        " {{ item.more_url }}\n{% endfor %}{% endfor %}"
        "{% if more_count is defined and more_count %}{{ more_count }} more{% endif %}"
        "{{ footer_reason | wordwrap(40) }}\n{{ unsubscribe_url ~ '#x' }} {{ heading[0] if false else heading }}",
        # an include, pasted in
        "{{ heading }}\n{% for section in sections %}{{ section.title }}\n"
        "{% for item in section.items %}{{ item.paper.text_title }}\n{% endfor %}"
        "{% endfor %}{% include '_footer.txt.j2' %}",
    ],
)
def test_operator_templates_that_split_render_the_plain_bytes(
    settings: Settings, links: Links, tmp_path: Path, real_fixtures: Path, source: str
) -> None:
    (tmp_path / "digest.txt.j2").write_text(source, encoding="utf-8")
    custom = settings.model_copy(update={"templates_dir": tmp_path})
    assembled, plain = Renderer(custom, links), Renderer(custom, links, assembled=False)
    assert assembled._digest.skeletons[1] is not None
    edition = edition_of(hf_papers(real_fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
    rng = random.Random(77)
    for sid in range(1, 40):
        reader = random_reader(rng, sid)
        sections = random_sections(rng, list(edition.papers))
        now = NOW + dt.timedelta(seconds=sid)
        fast = assembled.digest(edition, reader, sections, now=now)
        assert fast.data == plain.digest(edition, reader, sections, now=now).data
    assert assembled._digest.assembled


@pytest.mark.parametrize(
    "source",
    [
        "{% set x = heading %}{{ x }}",  # a name set by the template
        "{% for t in topics %}{{ t }}{% endfor %}",  # another loop
        "{{ range(3) | list }}",  # a call
        "{% filter upper %}{{ heading }}{% endfilter %}",
        "{% macro m() %}{% endmacro %}",
        "{% for section in sections %}{{ loop.index }}",  # the loop's variable
        "{% for section in sections %}{{ heading }}",  # a name from outside the section
    ],
)
def test_templates_the_skeleton_cannot_follow_are_refused(source: str) -> None:
    env = jinja_environment([], autoescape=False)
    if "for section" not in source:
        source += "{% for section in sections %}"
    source += "{% for item in section.items %}{{ item.number }}{% endfor %}{% endfor %}"
    cards = split_item_loop(env, source)
    assert cards is not None
    assert split_skeleton(env, source, cards) is None


def test_an_expression_that_fails_fails_as_in_jinja(
    settings: Settings, links: Links, tmp_path: Path, real_fixtures: Path
) -> None:
    (tmp_path / "digest.txt.j2").write_text(
        "{% if topics %}{{ no_such_name }}{% endif %}{% for section in sections %}"
        "{% for item in section.items %}{{ item.number }}{% endfor %}{% endfor %}",
        encoding="utf-8",
    )
    custom = settings.model_copy(update={"templates_dir": tmp_path})
    assembled, plain = Renderer(custom, links), Renderer(custom, links, assembled=False)
    assert assembled._digest.skeletons[1] is not None
    edition = edition_of(hf_papers(real_fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
    rng = random.Random(3)
    readers = [random_reader(rng, sid) for sid in range(1, 30)]
    readers[0] = dataclasses.replace(readers[0], profile=Profile(topics=()))
    sections = random_sections(random.Random(4), list(edition.papers))
    for reader in readers:  # the first digest of the edition is checked whole: not it
        for renderer in (assembled, plain):
            if reader.topics:
                with pytest.raises(TemplateError, match="no_such_name"):
                    renderer.digest(edition, reader, sections, now=NOW)
            else:
                renderer.digest(edition, reader, sections, now=NOW)
    assert readers[0].topics == () and any(r.topics for r in readers)
