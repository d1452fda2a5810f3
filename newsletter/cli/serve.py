"""``newsletter serve``: the subscription web app under uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import socket

import click

from newsletter.cli.base import (
    Context,
    fail,
    handle_errors,
    main,
    make_signer,
    open_store,
    pass_context,
)

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

    from newsletter.pipeline.week_embeddings import view_embeddings
    from newsletter.web import create_app

    if proxy_headers:
        check_forwarded_allow_ips(forwarded_allow_ips)
    context.require_settings()  # not an empty list in whatever folder it was started in
    settings = context.settings
    store = open_store(settings)
    try:
        app = create_app(
            settings, store, make_signer(settings), view_embeddings=view_embeddings(store)
        )
        listener = _listen(host, port)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips if proxy_headers else None,
            access_log=False,  # newsletter.web.access logs each request, tokens cut out
            log_config=None,
            server_header=False,
        )
        bound = listener.getsockname()[1]
        log.info("serving %s on http://%s:%d", settings.list_name, host, bound)
        with listener:
            uvicorn.Server(config).run(sockets=[listener])
    finally:
        store.close()


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, bound here rather than by uvicorn, whose bind
    failure is a page of log lines and exit status 3 ("waiting" in this CLI): a busy port
    or an unknown host is one line and exit status 2."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 2)
        raise  # not reached: fail() exits


def check_forwarded_allow_ips(value: str) -> None:
    """Exit 2 with one line unless every comma-separated item of ``--forwarded-allow-ips``
    is ``*``, an IP address or a network. uvicorn takes anything else as a literal that
    matches no peer, so the proxy would silently not be trusted and every reader would
    share its address (and its per-IP sign-up limit)."""
    for item in (part.strip() for part in value.split(",")):
        if item == "*":
            continue
        try:
            if "/" in item:
                ipaddress.ip_network(item)
            else:
                ipaddress.ip_address(item)
        except ValueError:
            fail(f"--forwarded-allow-ips: {item!r} is not an IP address or network", 2)
