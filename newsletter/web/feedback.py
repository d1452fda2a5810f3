""" "More / less like this": GET shows a page with a button, POST records the signal.

A GET alone records nothing, because mail scanners and link previewers fetch every link in
an email. Token purpose "feedback" (``Links.feedback``): the reader, the paper, +1 or -1.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from newsletter.errors import NotFoundError, TokenError
from newsletter.store import editions, subscribers
from newsletter.store import feedback as feedback_store
from newsletter.web.context import ctx

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


def feedback(request: Request) -> Response:
    """``POST /feedback/{token}``: record +1 or -1 for the paper (the last one counts);
    a bad link gets the generic link-error page (400/404)."""
    web = ctx(request)
    now = web.clock()
    try:
        sid, arxiv_id, signal = _verify(request)
        with web.store.begin() as conn:
            subscribers.get(conn, sid)
            feedback_store.record(conn, sid, arxiv_id, signal, now)
    except (TokenError, NotFoundError) as exc:
        return web.link_error(exc)
    log.info("feedback: subscriber #%s %+d on %s", sid, signal, arxiv_id)
    return web.message_page(
        "Thank you",
        "Noted: future emails will show you "
        + ("more papers like this one." if signal > 0 else "fewer papers like this one."),
    )
