"""The bundled demo day: shape, spread of topics and fields, and the edge cases it shows."""

from __future__ import annotations

import json
import re
from importlib import resources

from newsletter.models import Paper
from newsletter.sources import sample


def papers() -> list[Paper]:
    return sample.parse(sample.read())


def test_sample_parses_as_a_daily_papers_day() -> None:
    raw = json.loads(sample.read())
    found = papers()
    assert len(found) == len(raw) and 25 <= len(found) <= 35
    assert len({p.arxiv_id for p in found}) == len(found)
    assert all(re.fullmatch(r"2611\.0\d{4}", p.arxiv_id) for p in found)
    assert all(p.sources == ("sample",) for p in found)
    assert all(p.published and p.published.date() < sample.SAMPLE_DATE for p in found)
    assert all((sample.SAMPLE_DATE - p.published.date()).days <= 2 for p in found if p.published)


def test_sample_is_packaged_data() -> None:
    bundled = resources.files("newsletter").joinpath("data", "sample_day.json")
    assert bundled.is_file()


def test_sample_has_realistic_varied_fields() -> None:
    found = papers()
    assert all(p.authors and p.upvotes is not None for p in found)
    assert all(len(re.findall(r"[.?!](?:\s|$)", p.abstract)) >= 2 for p in found)
    with_ai = [p for p in found if p.ai_summary]
    assert 5 <= len(with_ai) < len(found) and all(p.ai_keywords for p in with_ai)
    assert 3 <= sum(p.github_repo is not None for p in found) < len(found)
    assert any(p.project_page for p in found)
    assert len({p.upvotes for p in found}) > 20


def test_sample_spans_the_demo_topics() -> None:
    text = " ".join(f"{p.title} {p.abstract}".lower() for p in papers())
    for topic in (
        "human feedback",
        "test-time adaptation",
        "robot",
        "diffusion",
        "video",
        "graph",
        "bayesian",
        "quantum",
        "segmentation",
        "speech",
    ):
        assert topic in text, topic


def test_sample_carries_latex_and_a_hostile_title() -> None:
    found = papers()
    assert any(
        "$\\mathcal{O}(n^2)$" in p.title or "$\\mathcal{O}(n^2)$" in p.abstract for p in found
    )
    assert any("\\alpha" in p.abstract for p in found)
    hostile = [p for p in found if "<script>alert(1)</script>" in p.title]
    assert len(hostile) == 1 and "&" in hostile[0].title.replace("<script>alert(1)</script>", "")
