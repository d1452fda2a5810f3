"""``create_app(settings, store, signer)``: the Starlette app behind ``newsletter serve``."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route

from newsletter.config import Settings
from newsletter.deliver.single import Send, transport_sender
from newsletter.links import Links
from newsletter.models import Edition
from newsletter.rank.hybrid import Embeddings
from newsletter.render import Renderer
from newsletter.store.db import Store
from newsletter.tokens import Signer
from newsletter.web import feedback, health, manage, preferences, subscribe, view
from newsletter.web.archive import ArchiveFiles
from newsletter.web.context import DEFAULT_TEMPLATES, WebContext, ctx, template_environment
from newsletter.web.middleware import AccessLogMiddleware, BodyLimitMiddleware
from newsletter.web.ratelimit import RateLimiter

log = logging.getLogger(__name__)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: Settings,
    store: Store,
    signer: Signer,
    *,
    send: Send | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
    view_embeddings: Callable[[Edition, bool], Embeddings] | None = None,
) -> Starlette:
    """The ASGI app: subscribe, confirm, unsubscribe (RFC 8058 one-click), preferences,
    feedback, the personal web view (``/view/``), ``/health`` and ``/archive/``. ``send`` delivers its emails (default: the
    configured transport), ``clock`` gives aware UTC times, ``view_embeddings`` the stored
    vectors that make the web view rank as the hybrid email did (``None``: lexical). Handlers that touch ``store``
    are plain ``def`` (or read the form, then run in the threadpool), so a slow database
    call never blocks the event loop. ``SettingsError`` when the reply address cannot
    carry tokens."""
    links = Links.for_settings(settings, signer)
    web = WebContext(
        settings=settings,
        store=store,
        signer=signer,
        links=links,
        renderer=Renderer(settings, links),
        send=send or transport_sender(settings),
        clock=clock,
        env=template_environment(settings),
        ip_limiter=RateLimiter(settings.subscribe_limit_per_ip, 3600),
        address_limiter=RateLimiter(settings.subscribe_limit_per_address, 24 * 3600),
        view_embeddings=view_embeddings,
    )

    filter_js = (DEFAULT_TEMPLATES / "web" / "filter.js").read_text(encoding="utf-8")

    async def static_filter(request: Request) -> Response:
        return Response(
            filter_js, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"}
        )

    async def home(request: Request) -> Response:
        return RedirectResponse("/subscribe", status_code=303)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 413:
            text = "The form was too large. Nothing was changed."
            return ctx(request).message_page("Request not accepted", text, status)
        title = "Not found" if status == 404 else "Request not accepted"
        return ctx(request).message_page(title, "There is nothing here.", status)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("web: unhandled error on %s", request.method)
        return ctx(request).message_page(
            "Something went wrong", "Nothing was changed. Please try again later.", 500
        )

    routes = [
        Route("/", home),
        Route("/health", health.health),
        Route("/static/filter.js", static_filter),
        Route("/subscribe", subscribe.form, methods=["GET"]),
        Route("/subscribe", subscribe.submit, methods=["POST"]),
        Route("/confirm/{token}", manage.confirm_page, methods=["GET"]),
        Route("/confirm/{token}", manage.confirm, methods=["POST"]),
        Route("/resubscribe/{token}", manage.resubscribe_page, methods=["GET"]),
        Route("/resubscribe/{token}", manage.resubscribe, methods=["POST"]),
        Route("/unsubscribe/{token}", manage.unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", manage.unsubscribe, methods=["POST"]),
        Route("/preferences/{token}", preferences.preferences_page, methods=["GET"]),
        Route("/preferences/{token}", preferences.preferences, methods=["POST"]),
        Route("/feedback/{token}", feedback.feedback_page, methods=["GET"]),
        Route("/feedback/{token}", feedback.feedback, methods=["POST"]),
        Route(
            "/feedback/{token}/{signal}/{arxiv_id:path}", feedback.feedback_page, methods=["GET"]
        ),
        Route("/feedback/{token}/{signal}/{arxiv_id:path}", feedback.feedback, methods=["POST"]),
        Route("/view/{token}", view.web_view, methods=["GET"]),
        Mount("/archive", app=ArchiveFiles(settings.archive_dir), name="archive"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(AccessLogMiddleware), Middleware(BodyLimitMiddleware)],
        exception_handlers={HTTPException: not_found, 500: server_error},
    )
    app.state.ctx = web
    return app
