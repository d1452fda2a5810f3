"""Each subscriber's email from an edition: rank a batch (vectorised) and render it. Pure.

Used by the daily run, ``newsletter send``, ``newsletter preview`` and the benchmarks
(through ``newsletter.pipeline.batches.make_personalizer``, which reads the store), so that
every path produces the same bytes for the same edition and subscriber. Nothing here
reads the store or a file: feedback and the week's papers are passed in as functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

from newsletter.config import Settings
from newsletter.models import Edition, Feedback, Message, Paper, Subscriber
from newsletter.rank import Ranker
from newsletter.rank.hybrid import Embeddings
from newsletter.render import Renderer

# A batch of subscribers -> their messages, in the same order.
Personalize = Callable[[Sequence[Subscriber]], Sequence[Message]]
# Subscriber ids -> each one's feedback signals, oldest first (absent: none).
FeedbackFor = Callable[[Sequence[int]], Mapping[int, Sequence[Feedback]]]
# The papers of the seven editions before the edition's date (read once, when first asked).
WeekPapers = Callable[[], Sequence[Paper]]


def make_ranker(
    settings: Settings, papers: Sequence[Paper], embeddings: Embeddings | None = None
) -> Ranker:
    """A ``Ranker`` over ``papers`` with the settings' per-topic cap, "also today" count and
    relevance floor; hybrid relevance when ``embeddings`` are given."""
    return Ranker(
        papers,
        max_per_topic=settings.max_per_topic,
        also_today=settings.also_today,
        floor=settings.relevance_floor,
        embeddings=embeddings,
    )


def personalizer(
    settings: Settings,
    renderer: Renderer,
    edition: Edition,
    now: dt.datetime,
    *,
    feedback_for: FeedbackFor,
    week_papers: WeekPapers,
    embeddings: Embeddings | None = None,
    week_embeddings: Embeddings | None = None,
) -> Personalize:
    """Rank (vectorised, a batch at a time) and render the emails of a batch of subscribers.

    Weekly readers get the best of the last seven editions instead of today's alone:
    ``week_papers`` is called at most once, the first time a batch holds a weekly reader.
    ``now`` dates every message (RFC 5322 ``Date``) and signs its links. ``embeddings``
    make the daily ranking hybrid, ``week_embeddings`` the weekly one (vectors of the week's
    papers, ``pipeline.week_embeddings``); without them that ranking is lexical.
    """
    daily = make_ranker(settings, edition.papers, embeddings)
    # Built now, before a send forks its helpers (``outbox.forked``), so that they share
    # it rather than each importing pyspellchecker and loading its word list after the
    # fork: a reader's topic with no paper today asks for it (issue 18, item 5).
    daily.assembler.vocabulary()
    weekly: list[tuple[Edition, Ranker]] = []

    def week() -> tuple[Edition, Ranker]:
        if not weekly:
            # The edition's own papers first: a dry run's edition is not in the store.
            found: dict[str, Paper] = {}
            for paper in (*edition.papers, *week_papers()):
                found.setdefault(paper.arxiv_id, paper)
            papers = list(found.values())
            week_edition = Edition(edition.id, edition.date, tuple(papers), edition.created_at)
            weekly.append((week_edition, make_ranker(settings, papers, week_embeddings)))
        return weekly[0]

    def personalize(batch: Sequence[Subscriber]) -> list[Message]:
        signals = feedback_for([s.id for s in batch])
        messages: dict[int, Message] = {}
        for weekly_group in (False, True):
            group = [s for s in batch if (s.frequency == "weekly") == weekly_group]
            if not group:
                continue
            chosen, ranker = week() if weekly_group else (edition, daily)
            ranked = ranker.rank_many(
                [s.profile for s in group], [signals.get(s.id, []) for s in group]
            )
            for subscriber, sections in zip(group, ranked, strict=True):
                messages[subscriber.id] = renderer.digest(chosen, subscriber, sections, now=now)
        return [messages[s.id] for s in batch]

    return personalize
