"""``GET /view/{token}``: the personal web view, the reader's own email as a page.

The "View in browser" link of every digest (``Links.web_view``): signed for one reader and
one edition date, no login, never expires while the reader exists. It ranks the edition
for the reader's profile and feedback as the daily run does (``personalize.make_ranker``;
weekly readers: the edition and the six before it; hybrid over the stored vectors when
``WebContext.view_embeddings`` is set, as ``newsletter serve`` does with the semantic extra) and renders the digest template whole,
with its sections, reasons and feedback buttons. A GET changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from starlette.requests import Request
from starlette.responses import Response

from newsletter.errors import NotFoundError, TokenError
from newsletter.models import Edition, Feedback, Paper, Section, Subscriber
from newsletter.personalize import make_ranker
from newsletter.rank.hybrid import VectorsMissing
from newsletter.store import editions, subscribers
from newsletter.store import feedback as feedback_store
from newsletter.web.context import WebContext, ctx

log = logging.getLogger(__name__)

WEEK = dt.timedelta(days=7)


def web_view(request: Request) -> Response:
    """``GET /view/{token}``: 200 with the page; the link-error page for a bad token
    (400) or an edition the store no longer holds (404)."""
    web = ctx(request)
    try:
        with web.store.begin() as conn:
            subscriber, day = web.links.view_for(
                request.path_params["token"], lambda sid: subscribers.find(conn, sid), web.clock()
            )
            edition = editions.get_by_date(conn, day)
            if edition is None:
                raise NotFoundError(f"edition {day}")
            signals = feedback_store.for_subscribers(conn, [subscriber.id]).get(subscriber.id, [])
            if subscriber.frequency == "weekly":
                found: dict[str, Paper] = {}
                for paper in (*edition.papers, *editions.papers_between(conn, day - WEEK, day)):
                    found.setdefault(paper.arxiv_id, paper)
                edition = Edition(edition.id, day, tuple(found.values()), edition.created_at)
    except (TokenError, NotFoundError) as exc:
        return web.link_error(exc)
    sections = _sections(web, edition, subscriber, signals)
    html = web.renderer.personal_page(edition, subscriber, sections)
    return Response(
        html,
        media_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _sections(
    web: WebContext, edition: Edition, subscriber: Subscriber, signals: list[Feedback]
) -> tuple[Section, ...]:
    """The reader's sections, hybrid over the vectors the daily run stored (as the email
    was ranked); lexical without the semantic extra or when they are not all stored (a page
    never loads the model)."""
    if web.view_embeddings is not None:
        weekly = subscriber.frequency == "weekly"
        try:
            embeddings = web.view_embeddings(edition, weekly)
            ranker = make_ranker(web.settings, edition.papers, embeddings)
            return ranker.rank(subscriber.profile, signals)
        except VectorsMissing as missing:
            log.info("web view of %s: ranked lexically (%s)", edition.date, missing)
    return make_ranker(web.settings, edition.papers).rank(subscriber.profile, signals)
