"""Fixtures for the render tests: real fixture days as an Edition, Settings, Links, Renderer."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Edition, Paper, Profile, RankedItem, Section, Subscriber
from newsletter.render import Renderer
from newsletter.tokens import Signer

BASE_URL = "https://papers.example.org"
NOW = dt.datetime(2026, 8, 18, 6, 30, tzinfo=dt.UTC)
LARGEST_DAY = "hf_daily_papers_2026-08-18.json"


def signed_links(text: str, links: Links, purpose: str, *readers: Subscriber) -> list[str]:
    """What every ``BASE_URL/<purpose>/TOKEN`` link in ``text`` says, each token verified
    against ``readers``: the reader's id, or ``ID:ARXIV_ID:+1`` for feedback.

    Links are compared by what they sign, not by their text: a confirmation token carries
    the second it was issued, so one signed again a moment later is spelled differently.
    """
    find = {r.id: r for r in readers}.get
    tokens = re.findall(rf"{re.escape(BASE_URL)}/{purpose}/([A-Za-z0-9_.-]+)", text)
    if purpose == "feedback":
        found = [links.feedback_for(token, find, NOW) for token in tokens]
        return [f"{reader.id}:{arxiv_id}:{signal:+d}" for reader, arxiv_id, signal in found]
    return [str(links.subscriber_for(purpose, token, find, NOW).id) for token in tokens]


def hf_papers(path: Path) -> list[Paper]:
    """A small reader of the HF Daily Papers JSON (the render tests' own, not the source's)."""
    papers = []
    for entry in json.loads(path.read_text(encoding="utf-8")):
        raw = entry["paper"]
        papers.append(
            Paper(
                arxiv_id=raw["id"],
                title=raw["title"],
                abstract=raw["summary"],
                authors=tuple(a["name"] for a in raw["authors"]),
                upvotes=raw.get("upvotes"),
                ai_summary=raw.get("ai_summary"),
                ai_keywords=tuple(raw.get("ai_keywords", ())),
                github_repo=raw.get("githubRepo"),
                project_page=raw.get("projectPage"),
                sources=("hf_daily",),
            )
        )
    return papers


def edition_of(papers: list[Paper], day: dt.date, edition_id: int = 1) -> Edition:
    return Edition(id=edition_id, date=day, papers=tuple(papers), created_at=NOW)


def split_sections(papers: list[Paper], topics: tuple[str, ...]) -> tuple[Section, ...]:
    """Every paper once, dealt into one section per topic (ranking is not under test here)."""
    sections = []
    for index, topic in enumerate(topics):
        chunk = papers[index :: len(topics)]
        items = tuple(
            RankedItem(
                paper=p, score=1.0, topic=topic, matched_terms=(topic,), reason=f"matches “{topic}”"
            )
            for p in chunk
        )
        sections.append(Section(title=topic, items=items, topic=topic))
    return tuple(sections)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        base_url=BASE_URL,
        from_address="Daily Papers <papers@example.org>",
        postal_address="1 Example Street, 75000 Paris",
        archive_dir=tmp_path / "archive",
    )


@pytest.fixture
def links() -> Links:
    return Links(
        base_url=BASE_URL,
        signer=Signer.from_secrets("test-secret"),
        reply_address="papers@example.org",
    )


@pytest.fixture
def renderer(settings: Settings, links: Links) -> Renderer:
    return Renderer(settings, links)


@pytest.fixture
def subscriber() -> Subscriber:
    return Subscriber(
        id=42,
        email="ada@example.com",
        name="Ada Lovelace",
        profile=Profile(topics=("multimodal agents", "image generation", "benchmarks")),
        token_nonce="ada-nonce",
    )


@pytest.fixture
def largest_day(real_fixtures: Path) -> Edition:
    return edition_of(hf_papers(real_fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
