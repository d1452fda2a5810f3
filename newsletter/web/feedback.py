""" "More / less like this": GET shows a page with a button, POST records the signal.

The page after the click says what it did, offers an undo (the same URL, POSTed with
``action=undo``, which deletes the signal if it is still this one) and links to the
preferences.

A GET alone records nothing, because mail scanners and link previewers fetch every link in
an email. Token purpose "feedback" (``Links.feedback``): the reader, the paper, +1 or -1.
"""

from __future__ import annotations

import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from newsletter.errors import NotFoundError, TokenError
from newsletter.store import editions, subscribers
from newsletter.store import feedback as feedback_store
from newsletter.web.context import ctx
from newsletter.web.forms import form_endpoint

log = logging.getLogger(__name__)


def _verify(request: Request) -> tuple[int, str, int]:
    """(subscriber id, arXiv id, +1 | -1) of the link's token; a ``TokenError`` otherwise."""
    web = ctx(request)
    with web.store.begin() as conn:
        subscriber, arxiv_id, signal = web.links.feedback_for(
            request.path_params["token"], lambda sid: subscribers.find(conn, sid), web.clock()
        )
    return subscriber.id, arxiv_id, signal


def feedback_page(request: Request) -> Response:
    """``GET /feedback/{token}``: the paper and a button; records nothing."""
    web = ctx(request)
    try:
        sid, arxiv_id, signal = _verify(request)
        with web.store.begin() as conn:
            subscribers.get(conn, sid)
            paper = editions.known_papers(conn, [arxiv_id]).get(arxiv_id)
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
        sid, arxiv_id, signal = _verify(request)
        with web.store.begin() as conn:
            subscriber = subscribers.get(conn, sid)
            paper = editions.known_papers(conn, [arxiv_id]).get(arxiv_id)
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
