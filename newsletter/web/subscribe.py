"""The subscription form: a pending subscriber and a confirmation email (double opt-in).

The answer is the same whether or not the address is known, and the email goes out in a
background task so that timing does not tell either. Per-IP limits (IPv6: per /64) answer
429; per-address limits (per mailbox: ``+tags`` do not count) answer as usual but send
nothing (a subscription bomb gets no email out of us).
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from newsletter import addresses
from newsletter.errors import ConstraintError, InputError
from newsletter.models import Message, Profile, Subscriber
from newsletter.render import notices
from newsletter.store import subscribers
from newsletter.text import split_terms
from newsletter.web import csrf
from newsletter.web.context import WebContext, client_ip, ctx
from newsletter.web.forms import field, form_endpoint
from newsletter.web.ratelimit import client_key, mailbox_key

log = logging.getLogger(__name__)

SCOPE = "subscribe"


def form(request: Request) -> Response:
    """``GET /subscribe``: the subscription form with a fresh CSRF token."""
    web = ctx(request)
    return _form_page(web, {}, None)


def _form_page(
    web: WebContext, values: dict[str, str], error: str | None, status_code: int = 200
) -> Response:
    return web.page(
        "subscribe.html",
        status_code,
        values=values,
        error=error,
        csrf=csrf.issue(web.signer, SCOPE, web.clock()),
    )


def _submit(request: Request, data: FormData) -> Response:
    web = ctx(request)
    now = web.clock()
    try:
        values = {name: field(data, name) for name in ("email", "name", "topics", "website")}
    except InputError as exc:
        return _form_page(web, {}, str(exc), 400)
    if not csrf.valid(web.signer, SCOPE, data.get(csrf.FIELD), now):
        return _form_page(web, values, "The form had expired. Please send it again.", 400)
    if not web.ip_limiter.allow(client_key(client_ip(request)), now.timestamp()):
        log.warning("subscribe: rate limit for %s", client_ip(request))
        return web.message_page(
            "Too many requests", "Please wait a while before trying again.", 429
        )
    try:
        email = addresses.normalize_email(values["email"])
        topics = subscribers.clean_terms(split_terms(values["topics"]))
    except InputError as exc:
        return _form_page(web, values, str(exc), 400)
    done = web.message_page(
        "Check your inbox",
        f"If {email} can receive email, a message with a confirmation link is on its way. "
        "Nothing will be sent to you until you confirm.",
    )
    if values["website"]:  # the hidden honeypot field: only bots fill it in
        return done
    if not web.address_limiter.allow(mailbox_key(email), now.timestamp()):
        log.warning("subscribe: rate limit for an address; no email sent")
        return done
    message = _register(web, email, values["name"], topics)
    return done if message is None else web.send_after(done, message)


submit = form_endpoint(_submit)


def _register(web: WebContext, email: str, name: str, topics: tuple[str, ...]) -> Message | None:
    """Create or refresh the pending subscriber; return the email to send them."""
    now = web.clock()
    try:
        with web.store.begin() as conn:
            found = _add_or_refresh(web, conn, email, name, topics)
    except ConstraintError:
        found = None
    if found is None:
        # The same address, added a moment ago by a request racing this one (a double
        # click): that request sends the confirmation; this one answers alike.
        log.info("subscribe: address added by a concurrent request; no second email")
        return None
    if found.status in ("active", "paused"):
        return notices.already_subscribed(web.settings, web.links, found, now=now)
    return web.renderer.notice(
        "confirmation",
        found.email,
        subscriber=found,
        context={"topics": found.topics},
        now=now,
    )


def _add_or_refresh(
    web: WebContext, conn: Connection, email: str, name: str, topics: tuple[str, ...]
) -> Subscriber | None:
    """The subscriber row of ``email``: added as pending, or, when still pending, given
    the form's name and topics; any other row as it is. None when a racing request added
    the address between the look-up and the insert (or the insert raises
    ``ConstraintError``)."""
    now = web.clock()
    found = subscribers.get_by_email(conn, email)
    if found is None:
        try:
            found = subscribers.add(
                conn, email, now=now, name=name, profile=Profile(topics=topics), status="pending"
            )
        except InputError:  # "already on the list": added since the look-up above
            return None
        log.info("subscribe: new pending subscriber #%s", found.id)
    elif found.status == "pending":
        subscribers.set_profile(conn, found.id, Profile(topics=topics), now=now)
        subscribers.update_fields(conn, found.id, now=now, name=name)
        found = subscribers.get(conn, found.id)
    return found
