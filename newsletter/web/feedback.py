""" "More / less like this": GET shows a page with a button, POST records the signal.

The page after the click says what it did, offers an undo (the same URL, POSTed with
``action=undo``, which deletes the signal if it is still this one) and links to the
preferences.

A GET alone records nothing, because mail scanners and link previewers fetch every link in
an email. Two forms of link, both read while emails with the older one are out:

- ``/feedback/{token}/{more|less}/{arxiv_id}`` (``Links.feedback_url``, emails since issue
  18): one token per email (purpose "edition": the reader and the edition date); the paper
  and the signal are in the path, unsigned. The paper must be one the edition's week showed
  (``editions.papers_between``: the edition and the six days before, what a weekly reader
  gets), so an edited path votes as the same reader on a paper of that edition, or 404s.
- ``/feedback/{token}`` (``Links.feedback``, emails before): one token per paper and signal
  (purpose "feedback").
"""

from __future__ import annotations

import datetime as dt
import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from newsletter.errors import NotFoundError, TokenError
from newsletter.models import Paper, Subscriber
from newsletter.store import editions, subscribers
from newsletter.store import feedback as feedback_store
from newsletter.web.context import ctx
from newsletter.web.forms import form_endpoint

log = logging.getLogger(__name__)

WEEK = dt.timedelta(days=7)


def _verify(request: Request) -> tuple[int, str, int, Paper | None]:
    """(subscriber id, arXiv id, +1 | -1, the paper if known) of the link; a ``TokenError``
    for a bad token, a ``NotFoundError`` for a paper its edition's week did not show."""
    web = ctx(request)
    params = request.path_params
    with web.store.begin() as conn:

        def find(sid: int) -> Subscriber | None:
            return subscribers.find(conn, sid)

        if "signal" not in params:  # one token per paper (before issue 18)
            subscriber, arxiv_id, signal = web.links.feedback_for(
                params["token"], find, web.clock()
            )
            paper = editions.known_papers(conn, [arxiv_id]).get(arxiv_id)
            return subscriber.id, arxiv_id, signal, paper
        subscriber, day, arxiv_id, signal = web.links.edition_feedback_for(
            params["token"], params["signal"], params["arxiv_id"], find, web.clock()
        )
        week = {p.arxiv_id: p for p in editions.papers_between(conn, day - WEEK, day)}
        if arxiv_id not in week:
            raise NotFoundError(f"paper {arxiv_id} in the week of the edition of {day}")
        return subscriber.id, arxiv_id, signal, week[arxiv_id]


def feedback_page(request: Request) -> Response:
    """``GET /feedback/{token}``: the paper and a button; records nothing."""
    web = ctx(request)
    try:
        sid, arxiv_id, signal, paper = _verify(request)
        with web.store.begin() as conn:
            subscribers.get(conn, sid)
    except (TokenError, NotFoundError) as exc:
        return web.link_error(exc)
    return web.page(
        "feedback.html",
        more=signal > 0,
        arxiv_id=arxiv_id,
        title=paper.title if paper else arxiv_id,
    )


def _feedback(request: Request, data: FormData) -> Response:
    """``POST /feedback/{token}``: record +1 or -1 for the paper (the last one counts), or,
    with ``action=undo``, take this click back; the answer says which and offers the
    other. A bad link gets the generic link-error page (400/404)."""
    web = ctx(request)
    now = web.clock()
    undo = data.get("action") == "undo"
    try:
        sid, arxiv_id, signal, paper = _verify(request)
        with web.store.begin() as conn:
            subscriber = subscribers.get(conn, sid)
            if paper is None:
                raise NotFoundError(f"paper {arxiv_id}")
            if undo:
                feedback_store.remove(conn, sid, arxiv_id, signal)
            else:
                feedback_store.record(conn, sid, arxiv_id, signal, now)
    except (TokenError, NotFoundError) as exc:
        return web.link_error(exc)
    log.info(
        "feedback: subscriber #%s %s %+d on %s", sid, "undid" if undo else "gave", signal, arxiv_id
    )
    return web.page(
        "feedback_done.html",
        undone=undo,
        more=signal > 0,
        arxiv_id=arxiv_id,
        title=paper.title,
        preferences_url=web.links.preferences(subscriber),
    )


feedback = form_endpoint(_feedback)
