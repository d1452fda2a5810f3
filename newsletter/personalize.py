"""Build each subscriber's email: rank a batch (vectorised) and render it.

Used by the daily run, ``newsletter send``, ``newsletter preview`` and the benchmarks,
so that every path produces the same bytes for the same edition and subscriber.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from newsletter import schedule
from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Edition, Message, Paper, Profile, Subscriber
from newsletter.rank import Ranker
from newsletter.render import Renderer
from newsletter.render.archive import write_archive
from newsletter.store import editions, feedback, subscribers
from newsletter.store.db import Store
from newsletter.store.secret import signer_for

WEEK = dt.timedelta(days=7)
Compose = Callable[[Sequence[Subscriber]], list[Message]]


def make_ranker(settings: Settings, papers: Sequence[Paper]) -> Ranker:
    return Ranker(
        papers,
        max_per_topic=settings.max_per_topic,
        also_today=settings.also_today,
        floor=settings.relevance_floor,
    )


def make_composer(
    store: Store,
    settings: Settings,
    edition: Edition,
    now: dt.datetime,
    renderer: Renderer | None = None,
) -> Compose:
    """Rank (vectorised, a batch at a time) and render the emails of a batch of subscribers.

    Weekly readers get the best of the last seven editions instead of today's alone.
    """
    renderer = renderer or Renderer(settings, Links.for_settings(settings, signer_for(settings)))
    daily = make_ranker(settings, edition.papers)
    weekly: list[tuple[Edition, Ranker]] = []

    def week() -> tuple[Edition, Ranker]:
        if not weekly:
            with store.begin() as conn:
                stored = editions.papers_between(conn, edition.date - WEEK, edition.date)
            # The edition's own papers first: a dry run's edition is not in the store.
            found: dict[str, Paper] = {}
            for paper in (*edition.papers, *stored):
                found.setdefault(paper.arxiv_id, paper)
            papers = list(found.values())
            week_edition = Edition(edition.id, edition.date, tuple(papers), edition.created_at)
            weekly.append((week_edition, make_ranker(settings, papers)))
        return weekly[0]

    def compose(batch: Sequence[Subscriber]) -> list[Message]:
        with store.begin() as conn:
            signals = feedback.for_subscribers(conn, [s.id for s in batch])
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

    return compose


def recipients(store: Store, settings: Settings, date: dt.date, only: str | None) -> list[int]:
    """Who gets edition ``date``: ``only`` that address, or everyone sendable that day
    (weekly readers on their day)."""
    with store.begin() as conn:
        if only:
            return [subscribers.require_by_email(conn, only).id]
        weekly_due = schedule.is_weekly_due(date, settings)
        return subscribers.sendable_ids(conn, date, weekly_due=weekly_due)


def publish_web_version(settings: Settings, renderer: Renderer, edition: Edition) -> None:
    """The "view in browser" page: the day's top papers, no personal links."""
    sections = make_ranker(settings, edition.papers).rank(Profile())
    html = renderer.web_page(edition, sections)
    write_archive(
        settings.archive_dir,
        edition,
        html,
        settings.base_url,
        list_name=settings.list_name,
        templates_dir=settings.templates_dir,
        subscribe_url=f"{settings.base_url}/subscribe",
    )
