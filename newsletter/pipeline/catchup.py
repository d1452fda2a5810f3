"""The daily run's last step: earlier editions' messages that are due again.

A message deferred past the end of its own run (a 4xx whose retry falls due hours later)
is sent by a later daily run, whatever edition that run is for, as are messages a stopped
run left ``pending``; a message queued more than ``GIVE_UP_AFTER_HOURS`` ago is given up
(``failed``, "gave up after 72h: <last error>"). So the documented daily job alone (cron
or the systemd timer running ``newsletter run``) leaves no row deferred for good;
``newsletter send --retry`` does the same on demand.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from newsletter.config import Settings
from newsletter.deliver import open_transport
from newsletter.links import Links
from newsletter.models import Edition
from newsletter.outbox.send import SendReport, send_edition
from newsletter.pipeline.batches import make_personalizer
from newsletter.render import Renderer
from newsletter.store import editions, ledger
from newsletter.store.db import Store
from newsletter.tokens import Signer
from newsletter.words import plural

log = logging.getLogger(__name__)


@dataclass
class CatchUp:
    """What catching up on earlier editions did: rows given up on, and each edition's
    send report."""

    given_up: int = 0
    sent: list[tuple[Edition, SendReport]] = field(default_factory=list)


async def send_earlier_editions(
    store: Store,
    settings: Settings,
    signer: Signer,
    *,
    exclude: int | None,
    clock: Callable[[], dt.datetime],
    worker: str,
) -> CatchUp:
    """Give up on rows past the give-up age (every edition), then send every other
    edition's pending and due rows (``exclude``: the edition this run just sent)."""
    now = clock()
    include_unknown = settings.unknown_policy == "resend"
    hours = settings.give_up_after_hours
    with store.begin() as conn:
        given_up = ledger.give_up(
            conn,
            None,
            now - dt.timedelta(hours=hours),
            now,
            hours=hours,
            include_unknown=include_unknown,
        )
        ids = ledger.editions_with_work(conn, now, include_unknown=include_unknown)
        earlier = [e for e in (editions.get(conn, i) for i in ids if i != exclude) if e]
    if given_up:
        log.warning("gave up on %s queued more than %gh ago", plural(given_up, "message"), hours)
    caught = CatchUp(given_up)
    if not earlier:
        return caught
    renderer = Renderer(settings, Links.for_settings(settings, signer), notices=False)
    async with open_transport(settings) as transport:
        for edition in earlier:
            personalize = make_personalizer(store, settings, edition, clock(), renderer)
            report = await send_edition(
                store, settings, edition, personalize, transport, worker=worker, clock=clock
            )
            caught.sent.append((edition, report))
            if report.stopped:
                break
    return caught
