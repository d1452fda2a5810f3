"""Confirm, unsubscribe and resubscribe: the links every email carries (preferences:
``web.preferences``).

Confirming sends the welcome email, unsubscribing the goodbye (both after the answer).

GET never changes anything (mail scanners prefetch links); it shows a page whose button
POSTs back to the same URL. The RFC 8058 one-click POST to /unsubscribe/{token} needs no
cookie and no CSRF field: the signed token is the proof.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from newsletter.errors import NotFoundError, TokenError
from newsletter.models import Subscriber
from newsletter.render import notices
from newsletter.store import subscribers
from newsletter.web.context import WebContext, ctx, subscriber_from
from newsletter.web.preferences import preference_csrf

log = logging.getLogger(__name__)

_CONFIRMABLE = ("pending", "unsubscribed", "bounced")  # what a confirmation activates
_SUBSCRIBED = ("pending", "active", "paused", "bounced")  # what an unsubscribe ends


# --- confirm ------------------------------------------------------------------------


def confirm_page(request: Request) -> Response:
    """``GET /confirm/{token}``: a button that confirms (or "already subscribed")."""
    return _confirm_page(request, "confirm")


def confirm(request: Request) -> Response:
    """``POST /confirm/{token}``: a pending (or lapsed) subscriber becomes active, bounce
    score reset, and gets the welcome email; repeatable (one welcome)."""
    return _confirm(request, "confirm")


def resubscribe_page(request: Request) -> Response:
    """``GET /resubscribe/{token}``: the goodbye email's "subscribe again" link (30 days);
    the same page and button as a confirmation."""
    return _confirm_page(request, "resubscribe")


def resubscribe(request: Request) -> Response:
    """``POST /resubscribe/{token}``: as ``POST /confirm``, with the goodbye's token."""
    return _confirm(request, "resubscribe")


def _confirm_page(request: Request, purpose: str) -> Response:
    web = ctx(request)
    try:
        subscriber = subscriber_from(web, purpose, request.path_params["token"])
    except TokenError as exc:
        return web.link_error(exc)
    if subscriber.status in ("active", "paused"):
        return _confirmed_page(web, subscriber)
    return web.page("confirm.html", email=subscriber.email)


def _confirm(request: Request, purpose: str) -> Response:
    web = ctx(request)
    now = web.clock()
    try:
        subscriber = subscriber_from(web, purpose, request.path_params["token"])
    except TokenError as exc:
        return web.link_error(exc)
    if subscriber.status in ("active", "paused"):
        return _confirmed_page(web, subscriber)
    with web.store.begin() as conn:
        # compare-and-set: of two racing clicks, one activates and sends the welcome
        changed = subscribers.change_status(
            conn, subscriber.id, "active", expected=_CONFIRMABLE, now=now, by="web"
        )
        if changed:
            subscribers.update_fields(conn, subscriber.id, now=now, bounce_score=0.0)
    if not changed:
        return _confirmed_page(web, subscriber)
    log.info("%s: subscriber #%s is active", purpose, subscriber.id)
    welcome = notices.welcome(web.renderer, subscriber, now=now)
    return web.send_after(_confirmed_page(web, subscriber), welcome)


def _confirmed_page(web: WebContext, subscriber: Subscriber) -> Response:
    return web.message_page(
        "You are subscribed",
        f"{subscriber.email} will receive {web.settings.list_name}.",
        link=web.links.preferences(subscriber),
        link_text="Choose your topics",
    )


# --- unsubscribe --------------------------------------------------------------------


def unsubscribe_page(request: Request) -> Response:
    """``GET /unsubscribe/{token}``: a button that unsubscribes; changes nothing itself."""
    web = ctx(request)
    try:
        subscriber = subscriber_from(web, "unsubscribe", request.path_params["token"])
    except TokenError as exc:
        return web.link_error(exc)
    if subscriber.status == "unsubscribed":
        return _unsubscribed_page(web, subscriber)
    return web.page(
        "unsubscribe.html",
        subscriber=subscriber,
        email=subscriber.email,
        preferences_url=web.links.preferences(subscriber),
        csrf=preference_csrf(web, subscriber),
        today=web.clock().date().isoformat(),
    )


def unsubscribe(request: Request) -> Response:
    """Both the page's button and RFC 8058 one-click: 200, no redirect, repeatable. The
    answer is the same either way; a reader who was subscribed then gets the goodbye
    email (with a "subscribe again" link for 30 days), after the answer."""
    web = ctx(request)
    now = web.clock()
    try:
        sid = subscriber_from(web, "unsubscribe", request.path_params["token"]).id
    except TokenError as exc:
        return web.link_error(exc)
    current: Subscriber | None
    was: str | None
    with web.store.begin() as conn:
        try:
            current = subscribers.get(conn, sid)
            # compare-and-set: of two racing POSTs, one unsubscribes and sends the goodbye
            was = subscribers.change_status(
                conn, sid, "unsubscribed", expected=_SUBSCRIBED, now=now, by="web"
            )
        except NotFoundError:
            current = was = None  # removed a moment ago: they are not subscribed, as asked
    if was is not None:
        log.info("unsubscribe: subscriber #%s", sid)
    answer = _unsubscribed_page(web, current)
    if current is None or was not in ("active", "paused"):
        return answer  # never confirmed, bounced, already or just now gone: no email
    return web.send_after(answer, notices.goodbye(web.renderer, current, now=now))


def _unsubscribed_page(web: WebContext, subscriber: Subscriber | None) -> Response:
    """The answer to an unsubscribe; a link to the preferences page, whose "Subscribe
    again" button undoes it, while the reader exists."""
    return web.message_page(
        "You are unsubscribed",
        f"You will not receive {web.settings.list_name} any more.",
        link=None if subscriber is None else web.links.preferences(subscriber),
        link_text="Changed your mind? Subscribe again",
    )
