"""What ``newsletter.personalize`` needs from the store, and who gets an edition.

``make_personalizer`` joins the pure ``personalizer`` to the store: each batch's feedback is read
in one transaction, the week's papers once, when a weekly reader first needs them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from newsletter import schedule
from newsletter.config import Settings
from newsletter.models import Edition, Feedback, Paper, Profile
from newsletter.personalize import Personalize, make_ranker, personalizer
from newsletter.pipeline.embeddings import StoredEmbeddings, stored_embeddings
from newsletter.pipeline.week_embeddings import StoredWeek
from newsletter.rank.taxonomy import category_title
from newsletter.render import Renderer
from newsletter.render.archive import every_paper, write_archive
from newsletter.store import editions, feedback, subscribers
from newsletter.store.db import Store

WEEK = dt.timedelta(days=7)


def make_personalizer(
    store: Store,
    settings: Settings,
    edition: Edition,
    now: dt.datetime,
    renderer: Renderer,
    *,
    topics: Iterable[str] | None = None,
    embeddings: StoredEmbeddings | None = None,
) -> Personalize:
    """Each batch's emails for ``edition`` (see ``personalize.personalizer``), reading each
    batch's feedback and, for weekly readers, the papers of the week before ``edition.date``.
    With the semantic extra the daily and weekly rankings are hybrid, over vectors kept in
    the store (``pipeline.embeddings``, ``pipeline.week_embeddings``): the edition's and
    those of ``topics`` (as written) are made ready up front, by default every daily
    reader's; pass the recipients' own when they are few (``--only``, a preview), so that
    one email does not embed everyone's topics. ``embeddings``: the edition's, already
    made (``start_embedding``) rather than made here."""

    def feedback_for(ids: Sequence[int]) -> dict[int, list[Feedback]]:
        with store.begin() as conn:
            return feedback.for_subscribers(conn, ids)

    def week_papers() -> list[Paper]:
        with store.begin() as conn:
            return editions.papers_between(conn, edition.date - WEEK, edition.date)

    embeddings = embeddings or stored_embeddings(store, edition, now)
    if embeddings is not None:
        if topics is None:
            with store.begin() as conn:
                topics = subscribers.sendable_topics(conn, edition.date)
        embeddings.prepare(edition.papers, topics)
    return personalizer(
        settings,
        renderer,
        edition,
        now,
        feedback_for=feedback_for,
        week_papers=week_papers,
        embeddings=embeddings,
        week_embeddings=(
            StoredWeek(store, embeddings.encoder, edition.date, daily=embeddings)
            if embeddings
            else None
        ),
    )


def start_embedding(store: Store, edition: Edition, now: dt.datetime) -> StoredEmbeddings | None:
    """The edition's store-backed embeddings, its passages already being embedded in a
    background thread when they are not stored (``StoredEmbeddings.start``), for
    ``make_personalizer(embeddings=…)``; ``None`` without the semantic extra."""
    embeddings = stored_embeddings(store, edition, now)
    if embeddings is not None:
        embeddings.start(edition.papers)
    return embeddings


def topics_of(store: Store, ids: Sequence[int]) -> set[str]:
    """Every topic, as written, of the subscribers ``ids``."""
    with store.begin() as conn:
        found = subscribers.get_many(conn, ids)
    return {t for reader in found.values() for t in reader.profile.topics}


def recipients(store: Store, settings: Settings, date: dt.date, only: str | None) -> list[int]:
    """Who gets edition ``date``: ``only`` that address, or everyone sendable that day
    (weekly readers on their day). Raises ``NotFoundError`` when ``only`` is not subscribed."""
    with store.begin() as conn:
        if only:
            return [subscribers.require_by_email(conn, only).id]
        weekly_due = schedule.is_weekly_due(date, settings)
        return subscribers.sendable_ids(conn, date, weekly_due=weekly_due)


def publish_web_version(settings: Settings, renderer: Renderer, edition: Edition) -> None:
    """The edition's public web page: every paper of the edition (the sections of a reader
    without topics, then the rest by arXiv category), no personal links; written under
    ``settings.archive_dir`` (``render.archive.write_archive``)."""
    top = make_ranker(settings, edition.papers).rank(Profile())
    sections = every_paper(top, edition.papers, category_title)
    html = renderer.web_page(edition, sections)
    write_archive(
        settings.archive_dir,
        edition,
        html,
        settings.base_url,
        list_name=settings.list_name,
        templates_dir=settings.templates_dir,
        subscribe_url="../subscribe",
    )
