"""What every source's ``fetch`` takes and gives.

``fetch(context, argument, edition) -> Fetched``: every paper of edition ``edition`` (an
announcement day, see ``newsletter.edition_day``) or a ``SourceError``: never part of a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from newsletter.config import Settings
from newsletter.models import Paper
from newsletter.sources.pacer import Pacer, host_key


@dataclass(frozen=True, slots=True)
class FetchContext:
    """The run's HTTP client, settings and the one pacer for arXiv's hosts."""

    client: httpx.AsyncClient
    settings: Settings
    pacer: Pacer

    @classmethod
    def for_settings(cls, client: httpx.AsyncClient, settings: Settings) -> FetchContext:
        """The fetch context for ``settings``: the HTTP client, user agent, timeouts and pacing."""
        hosts = {host_key(settings.arxiv_rss_url), host_key(settings.arxiv_api_url)}
        return cls(client, settings, Pacer(hosts, settings.arxiv_request_interval))


@dataclass(frozen=True, slots=True)
class Fetched:
    """A source's papers for the edition, and warnings for the operator (a bound was hit)."""

    papers: list[Paper]
    notes: tuple[str, ...] = ()


Fetch = Callable[[FetchContext, str, dt.date], Awaitable[Fetched]]
