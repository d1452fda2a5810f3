"""What every route needs, built once by ``create_app``: settings, store, signer, pages."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from newsletter.config import Settings
from newsletter.deliver.single import Send
from newsletter.errors import NewsletterError, NotFoundError, TokenError
from newsletter.links import Links
from newsletter.models import Edition, Message, Subscriber
from newsletter.rank.hybrid import Embeddings
from newsletter.render import Renderer
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from newsletter.web.ratelimit import RateLimiter

log = logging.getLogger(__name__)

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

# Pages that carry a token in their URL: never cached, never leaked through Referer.
NO_STORE = {"Cache-Control": "no-store"}


def template_environment(settings: Settings) -> jinja2.Environment:
    """``TEMPLATES_DIR/web`` overrides single pages; the bundled pages fill the rest."""
    folders = [DEFAULT_TEMPLATES / "web"]
    if settings.templates_dir is not None:
        folders.insert(0, settings.templates_dir / "web")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@dataclass
class WebContext:
    """Everything a handler needs, built once by ``create_app`` and kept on ``app.state``.

    ``clock`` is the time seam (aware UTC); ``send`` sends one email (``deliver.single``);
    ``view_embeddings`` gives the stored vectors the web view ranks with (edition, weekly
    reader?), ``None``: lexical; ``extra`` is free room for tests and extensions."""

    settings: Settings
    store: Store
    signer: Signer
    links: Links
    renderer: Renderer
    send: Send
    clock: Callable[[], dt.datetime]
    env: jinja2.Environment
    ip_limiter: RateLimiter
    address_limiter: RateLimiter
    view_embeddings: Callable[[Edition, bool], Embeddings] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def page(
        self, name: str, status_code: int = 200, *, cache: bool = False, **context: Any
    ) -> HTMLResponse:
        """Template ``name`` rendered with ``context`` (autoescaped); ``Cache-Control:
        no-store`` unless ``cache``."""
        html = self.env.get_template(name).render(list_name=self.settings.list_name, **context)
        headers = None if cache else NO_STORE
        return HTMLResponse(html, status_code=status_code, headers=headers)

    def message_page(
        self, title: str, text: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        """The one-message page (``message.html``): a title and a sentence."""
        return self.page("message.html", status_code, title=title, text=text, **context)

    def send_after(self, response: Response, message: Message) -> Response:
        """``response``, unchanged, with ``message`` sent once it has gone out (a
        background task: the answer does not wait for, or tell of, the SMTP server)."""
        response.background = BackgroundTask(send_quietly, self, message)
        return response

    def link_error(self, error: TokenError | NotFoundError) -> HTMLResponse:
        """One generic page for every bad link: it says nothing about why."""
        log.info("rejected link: %s", error)
        status = 404 if isinstance(error, NotFoundError) else 400
        return self.message_page(
            "This link does not work",
            "The link is invalid, incomplete or has expired. Nothing was changed. "
            "Use the links in your most recent email, or subscribe again.",
            status,
        )


def ctx(request: Request) -> WebContext:
    """The ``WebContext`` of the app serving ``request``."""
    context: WebContext = request.app.state.ctx
    return context


def client_ip(request: Request) -> str:
    """The peer address (uvicorn rewrites it from X-Forwarded-For with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def subscriber_from(web: WebContext, purpose: str, token: str) -> Subscriber:
    """The subscriber a link token is for (checked against their row's nonce); a bad,
    expired or orphaned token is a ``TokenError``."""
    with web.store.begin() as conn:
        return web.links.subscriber_for(
            purpose, token, lambda sid: subscribers.find(conn, sid), web.clock()
        )


async def send_quietly(web: WebContext, message: Message) -> None:
    """Send ``message`` with ``web.send``; a failure is logged, never raised (the page
    the reader sees has already been answered)."""
    try:
        await web.send(message)
    except (NewsletterError, OSError) as exc:
        log.error(
            "could not send %r to subscriber #%s: %s", message.subject, message.subscriber_id, exc
        )
