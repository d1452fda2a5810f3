"""What the templates see: papers cleaned and escaped once per edition, then per subscriber
only the links and the reasons.

HTML fields are ``Markup`` (escaped here, once), so Jinja's autoescape passes them through
untouched per subscriber; ``text_*`` fields are the same content for the plain-text part.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from newsletter.models import Paper, RankedItem, Section
from newsletter.render.clean import (
    clean_abstract,
    clean_text,
    clean_title,
    short_authors,
    short_line,
    trim_sentences,
)
from newsletter.text import one_line
from newsletter.words import plural

ABSTRACT_CHARS = 480
SUMMARY_CHARS = 400
MAX_CATEGORIES = 4
_SAFE_URL = re.compile(r"^https?://[^\s\"'<>]+$")


@dataclass(frozen=True, slots=True)
class PaperView:
    """What a template shows of one paper: cleaned title, authors, abstract, links."""

    arxiv_id: str
    title: Markup
    authors: Markup
    blurb: Markup
    categories: tuple[Markup, ...]
    upvotes: int | None
    abs_url: Markup
    pdf_url: Markup
    hf_url: Markup | None
    code_url: Markup | None
    text_title: str
    text_authors: str
    text_badges: str
    text_blurb: str
    plain_title: str


def safe_url(url: str | None) -> str | None:
    """Only http(s) URLs from a feed become links (never ``javascript:``)."""
    if not url:
        return None
    url = url.strip()
    return url if _SAFE_URL.match(url) else None


def paper_view(paper: Paper) -> PaperView:
    """The ``PaperView`` of ``paper`` (abstract cleaned and trimmed, authors shortened)."""
    title = clean_text(paper.title) or paper.arxiv_id
    authors = short_authors(paper.authors)
    if paper.ai_summary and paper.ai_summary.strip():
        blurb = trim_sentences(clean_text(paper.ai_summary), SUMMARY_CHARS)
    else:
        blurb = trim_sentences(clean_abstract(paper.abstract), ABSTRACT_CHARS)
    categories = paper.categories[:MAX_CATEGORIES]
    badges = []
    if paper.upvotes:
        badges.append(f"▲ {paper.upvotes} upvotes on Hugging Face")
    if categories:
        badges.append(", ".join(categories))
    code = safe_url(paper.github_repo)
    return PaperView(
        arxiv_id=paper.arxiv_id,
        title=escape(title),
        authors=escape(authors),
        blurb=escape(blurb),
        categories=tuple(escape(one_line(c, 24)) for c in categories),
        upvotes=paper.upvotes,
        abs_url=escape(paper.abs_url),
        pdf_url=escape(paper.pdf_url),
        hf_url=escape(paper.hf_url) if paper.hf_url else None,
        code_url=escape(code) if code else None,
        text_title=textwrap.fill(title, 68, subsequent_indent="    ", break_on_hyphens=False),
        text_authors=authors,
        text_badges=" · ".join(badges),
        text_blurb=textwrap.fill(
            blurb, 72, initial_indent="   ", subsequent_indent="   ", break_on_hyphens=False
        ),
        plain_title=title,
    )


@dataclass(frozen=True, slots=True)
class ItemView:
    """One paper of a section as a template shows it, with its feedback links and reason;
    ``short``: title and reason only (the size budget, ``render.budget``)."""

    paper: PaperView
    number: int
    reason: Markup
    text_reason: str
    more_url: str | None
    less_url: str | None
    short: bool = False


@dataclass(frozen=True, slots=True)
class SectionView:
    """One section as a template shows it: title and items."""

    title: str
    topic: str | None
    empty_note: str
    items: tuple[ItemView, ...]


def reason_of(item: RankedItem) -> str:
    """The one-line reason shown under a paper (why it was chosen)."""
    if item.reason:
        return one_line(item.reason, 240)
    if item.matched_terms:
        return one_line("matches " + ", ".join(item.matched_terms), 240)
    return ""


def day_label(day: date) -> str:
    """``Monday, 3 March 2025``."""
    return f"{day:%A}, {day.day} {day:%B %Y}"


def subject_line(
    list_name: str, day: date, sections: Sequence[Section], *, weekly: bool = False
) -> str:
    """ "Daily Papers, 12 May: 7 on reinforcement learning, 3 on video generation"
    ("Daily Papers, week to 12 May: ..." for a weekly reader)."""
    when = f"week to {day.day} {day:%b}" if weekly else f"{day.day} {day:%b}"
    prefix = f"{short_line(list_name, 60)}, {when}: "
    parts = [
        f"{len(s.items)} on {short_line(s.topic, 48)}" for s in sections if s.topic and s.items
    ]
    if not parts:
        total = sum(len(s.items) for s in sections)
        first = top_paper(sections)
        parts = [
            plural(total, "new paper") + (f", top: {clean_title(first.title)}" if first else "")
        ]
    return short_line(prefix + ", ".join(parts), 140)


def top_paper(sections: Sequence[Section]) -> Paper | None:
    """The first paper of the first non-empty section, or None."""
    for section in sections:
        if section.items:
            return section.items[0].paper
    return None


def preheader(sections: Sequence[Section]) -> str:
    """The preheader (the inbox preview line) for these sections."""
    first = top_paper(sections)
    if first is None:
        return "Nothing matched your topics today."
    total = sum(len(s.items) for s in sections)
    more = f" · and {total - 1} more" if total > 1 else ""
    return short_line(f"Top paper: {clean_title(first.title)}", 130) + more
