"""``newsletter serve``: the subscription web app under uvicorn."""

from __future__ import annotations

import logging

import click

from newsletter.cli.base import Context, handle_errors, main, make_signer, open_store, pass_context

log = logging.getLogger(__name__)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--proxy-headers",
    is_flag=True,
    help="Trust X-Forwarded-For/-Proto from the proxies in --forwarded-allow-ips.",
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Comma-separated proxy addresses whose X-Forwarded-* headers are trusted.",
)
@pass_context
@handle_errors
def serve(
    context: Context, host: str, port: int, proxy_headers: bool, forwarded_allow_ips: str
) -> None:
    """Serve subscribe, confirm, unsubscribe, preferences, feedback and the archive."""
    import uvicorn

    from newsletter.web import create_app

    context.require_settings()  # not an empty list in whatever folder it was started in
    settings = context.settings
    store = open_store(settings)
    app = create_app(settings, store, make_signer(settings))
    log.info("serving %s on http://%s:%d", settings.list_name, host, port)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips if proxy_headers else None,
            access_log=False,  # newsletter.web.access logs each request, tokens cut out
            log_config=None,
            server_header=False,
        )
    finally:
        store.close()
