"""The preferences page: topics, arXiv categories, followed authors, exclusions, daily or
weekly, pause (until a date or indefinitely), resume, subscribe again, reactivate.

``GET /preferences/{token}`` shows the form and changes nothing; every POST carries a
CSRF field (``web.csrf``, bound to the subscriber) and its answer says what changed.
An unsubscribed reader may subscribe again here (the signed link proves the mailbox);
a bounced reader gets a new confirmation email to the same address instead, since the
address failed and must show it works again.
"""

from __future__ import annotations

import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from newsletter.errors import InputError, TokenError
from newsletter.models import Message, Profile, Subscriber
from newsletter.rank.suggest import did_you_mean
from newsletter.rank.taxonomy import CATEGORY_NAMES
from newsletter.store import editions, subscribers
from newsletter.text import split_terms
from newsletter.topic_vectors import cache_topics
from newsletter.web import csrf
from newsletter.web.context import WebContext, ctx, subscriber_from
from newsletter.web.forms import field, form_endpoint, pause_date

log = logging.getLogger(__name__)

FIELD_LABELS = {
    "topics": "topics",
    "categories": "categories",
    "authors": "followed authors",
    "exclude": "exclusions",
}


def preference_csrf(web: WebContext, subscriber: Subscriber) -> str:
    """The CSRF field value for forms that POST to ``subscriber``'s preferences URL."""
    return csrf.issue(web.signer, f"preferences:{subscriber.id}", web.clock())


def topics_from(text: str) -> tuple[str, ...]:
    """The topics field, cleaned (``subscribers.clean_terms``): the one place a topic check
    or a typo suggestion (``rank.suggest``) plugs in; ``InputError`` on a bad value."""
    return subscribers.clean_terms(split_terms(text), "topics")


def categories_from(values: list[str]) -> tuple[str, ...]:
    """Checked arXiv category codes; ``InputError`` for a code the taxonomy lacks
    (``rank.taxonomy.CATEGORY_NAMES``)."""
    for code in values:
        if code not in CATEGORY_NAMES:
            raise InputError("categories", code[:40], "not an arXiv category")
    return subscribers.clean_terms(values, "categories")


def preferences_page(request: Request) -> Response:
    """``GET /preferences/{token}``: the whole form; changes nothing."""
    web = ctx(request)
    try:
        subscriber = subscriber_from(web, "preferences", request.path_params["token"])
    except TokenError as exc:
        return web.link_error(exc)
    return _page(web, subscriber, [], None)


def _page(
    web: WebContext,
    subscriber: Subscriber,
    changes: list[str],
    error: str | None,
    status_code: int = 200,
) -> Response:
    profile = subscriber.profile
    return web.page(
        "preferences.html",
        status_code,
        subscriber=subscriber,
        topics="\n".join(profile.topics),
        authors="\n".join(profile.authors),
        exclude="\n".join(profile.exclude),
        chosen=set(profile.categories),
        # the reader's categories first, then the rest by code
        categories=sorted(
            CATEGORY_NAMES.items(), key=lambda kv: (kv[0] not in profile.categories, kv[0])
        ),
        changes=changes,
        error=error,
        today=web.clock().date().isoformat(),
        csrf=preference_csrf(web, subscriber),
        unsubscribe_url=web.links.unsubscribe(subscriber),
    )


def _post(request: Request, data: FormData) -> Response:
    web = ctx(request)
    now = web.clock()
    try:
        subscriber = subscriber_from(web, "preferences", request.path_params["token"])
    except TokenError as exc:
        return web.link_error(exc)
    if not csrf.valid(web.signer, f"preferences:{subscriber.id}", data.get(csrf.FIELD), now):
        return _page(
            web, subscriber, [], "The form had expired. Nothing was changed; please try again.", 400
        )
    try:
        changes, message = _apply(web, subscriber, str(data.get("action")), data)
    except InputError as exc:
        return _page(web, subscriber, [], str(exc), 400)
    with web.store.begin() as conn:
        subscriber = subscribers.get(conn, subscriber.id)
    answer = _page(web, subscriber, changes, None)
    return answer if message is None else web.send_after(answer, message)


preferences = form_endpoint(_post)


def _describe(name: str, before: tuple[str, ...], after: tuple[str, ...]) -> list[str]:
    added = [t for t in after if t.casefold() not in {b.casefold() for b in before}]
    removed = [t for t in before if t.casefold() not in {a.casefold() for a in after}]
    label = FIELD_LABELS[name]
    out = []
    if added:
        out.append(f"Added to {label}: {', '.join(added)}.")
    if removed:
        out.append(f"Removed from {label}: {', '.join(removed)}.")
    return out


def _save(web: WebContext, subscriber: Subscriber, data: FormData) -> list[str]:
    now = web.clock()
    profile = Profile(
        topics=topics_from(field(data, "topics")),
        categories=categories_from([str(v) for v in data.getlist("categories")]),
        authors=subscribers.clean_terms(split_terms(field(data, "authors")), "authors"),
        exclude=subscribers.clean_terms(split_terms(field(data, "exclude")), "exclude"),
    )
    frequency = field(data, "frequency") or subscriber.frequency
    if frequency not in ("daily", "weekly"):
        raise InputError("frequency", frequency[:40], "choose daily or weekly")
    changes: list[str] = []
    for name in FIELD_LABELS:
        changes += _describe(name, getattr(subscriber.profile, name), getattr(profile, name))
    if frequency != subscriber.frequency:
        changes.append(f"Frequency: now {frequency} (was {subscriber.frequency}).")
    with web.store.begin() as conn:
        subscribers.set_profile(conn, subscriber.id, profile, now=now)
        subscribers.update_fields(conn, subscriber.id, now=now, frequency=frequency)
        latest = editions.latest(conn)
    log.info("preferences: subscriber #%s saved (%d changes)", subscriber.id, len(changes))
    cache_topics(web.store, profile.topics, now)
    hints = did_you_mean(latest.papers if latest else (), profile.topics)
    return (changes or ["Nothing changed: your preferences were already these."]) + hints


def _apply(
    web: WebContext, subscriber: Subscriber, action: str, data: FormData
) -> tuple[list[str], Message | None]:
    """(sentences saying what changed, an email to send or None) for one form action."""
    now = web.clock()
    sid = subscriber.id
    status = subscriber.status
    if action == "save":
        return _save(web, subscriber, data), None
    if action == "weekly":
        with web.store.begin() as conn:
            subscribers.update_fields(conn, sid, now=now, frequency="weekly")
        return [f"Frequency: now weekly (was {subscriber.frequency}): the week's best."], None
    if action in ("pause", "pause_indefinitely"):
        if status not in ("active", "paused"):
            raise InputError("status", status, "only an active subscription can be paused")
        until = None
        if action == "pause":
            until = pause_date(field(data, "paused_until"), now.date())
        with web.store.begin() as conn:
            subscribers.update_fields(
                conn, sid, now=now, by="web", status="paused", paused_until=until
            )
        log.info("preferences: subscriber #%s paused", sid)
        if until is None:
            return ["Paused until you resume: no emails until you press Resume."], None
        return [f"Paused: the next email comes on {until.isoformat()}."], None
    if action == "resume":
        if status != "paused":
            raise InputError("status", status, "only a paused subscription can be resumed")
        with web.store.begin() as conn:
            subscribers.set_status(conn, sid, "active", now=now, by="web")
        log.info("preferences: subscriber #%s resumed", sid)
        return ["Resumed: you will get the next email."], None
    if action == "resubscribe":
        if status != "unsubscribed":
            raise InputError("status", status, "only an unsubscribed reader can subscribe again")
        with web.store.begin() as conn:
            subscribers.set_status(conn, sid, "active", now=now, by="web")
        log.info("preferences: subscriber #%s subscribed again", sid)
        return [
            f"Subscribed again: you will get {web.settings.list_name} from the next email."
        ], None
    if action == "reactivate":
        if status != "bounced":
            raise InputError("status", status, "only a bounced address needs reactivating")
        message = web.renderer.notice(
            "confirmation",
            subscriber.email,
            subscriber=subscriber,
            context={"topics": subscriber.topics},
            now=now,
        )
        log.info("preferences: subscriber #%s asked to reactivate", sid)
        return [
            f"A confirmation email is on its way to {subscriber.email}. "
            "Its link turns your subscription back on."
        ], message
    raise InputError("action", action[:40], "unknown action")
