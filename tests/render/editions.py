"""Helpers for the render tests: real fixture days as an Edition, sections, signed links."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from newsletter.links import Links
from newsletter.models import Edition, Paper, RankedItem, Section, Subscriber

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
    if purpose == "feedback":  # both forms: /feedback/TOKEN, /feedback/TOKEN/more|less/ID
        pattern = rf"{re.escape(BASE_URL)}/feedback/([A-Za-z0-9_.-]+)(?:/(more|less)/([^\s\"<]+))?"
        said = []
        for token, word, arxiv_id in re.findall(pattern, text):
            if word:
                reader, _, arxiv_id, signal = links.edition_feedback_for(
                    token, word, arxiv_id, find, NOW
                )
            else:
                reader, arxiv_id, signal = links.feedback_for(token, find, NOW)
            said.append(f"{reader.id}:{arxiv_id}:{signal:+d}")
        return said
    tokens = re.findall(rf"{re.escape(BASE_URL)}/{purpose}/([A-Za-z0-9_.-]+)", text)
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
