"""``newsletter run --dry-run``: collect, rank and render in memory; write the emails to a
folder. It changes nothing else.

No edition is frozen, no ledger row, run record, lock or source-health row is written,
no archive page, and the reply mailbox is not read: the database and the archive are the
same bytes afterwards, and the real run collects afresh. A frozen edition is rendered
as it is (nothing fetched). Each email goes to ``OUT/<date>-<address>.eml`` (the exact
bytes a real run would send) and ``.html``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from newsletter.config import Settings
from newsletter.deliver.folder import FolderWriter, new_folder
from newsletter.links import Links
from newsletter.models import Edition
from newsletter.pipeline.batches import make_personalizer, recipients, topics_of
from newsletter.pipeline.freeze import collect_fresh
from newsletter.pipeline.progress import Progress
from newsletter.render import Renderer
from newsletter.store import editions, subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from newsletter.words import plural

log = logging.getLogger(__name__)
BATCH = 200


@dataclass
class DryRun:
    """What a dry run did. ``reason``: what the real run would do instead of sending the
    edition as rendered ("" when it would send it); ``failed``: every source failed."""

    date: dt.date
    folder: Path | None = None
    rendered: int = 0
    size: int = 0
    reason: str = ""
    failed: bool = False
    lines: list[str] = field(default_factory=list)


async def dry_run(
    store: Store,
    settings: Settings,
    signer: Signer,
    *,
    date: dt.date,
    now: dt.datetime,
    out: Path | None,
    only: str | None,
    progress: Progress,
    transport: httpx.AsyncBaseTransport | None = None,
) -> DryRun:
    """Render edition ``date`` for its recipients into ``out`` (default: a new temporary
    folder). Reads the store and the sources; writes only into the folder."""
    done = DryRun(date)
    with store.begin() as conn:
        edition = editions.get_by_date(conn, date)
    if edition is not None:
        _line(
            done,
            progress,
            f"edition {date}: {plural(len(edition.papers), 'paper')}, already frozen",
        )
    else:
        started = time.monotonic()
        progress.start("collect")
        collected = await collect_fresh(store, settings, date, now, transport)
        _line(done, progress, f"{collected.summary()} in {time.monotonic() - started:.1f}s")
        verdict = collected.verdict
        if verdict.action != "freeze":
            done.reason = f"the real run would {_would(verdict.action)}: {verdict.reason}"
            done.failed = verdict.action == "fail"
            if verdict.action != "wait" or not collected.fresh:
                return done
        elif verdict.missing:
            done.reason = f"the real run would send it: {verdict.reason}"
        edition = collected.edition(now)
    await _render(store, settings, signer, edition, now, out, only, progress, done)
    return done


def _would(action: str) -> str:
    return {
        "wait": "wait",
        "holiday": "send nothing",
        "nothing": "send nothing",
        "fail": "fail",
    }.get(action, action)


async def _render(
    store: Store,
    settings: Settings,
    signer: Signer,
    edition: Edition,
    now: dt.datetime,
    out: Path | None,
    only: str | None,
    progress: Progress,
    done: DryRun,
) -> None:
    started = time.monotonic()
    ids = recipients(store, settings, edition.date, only)
    renderer = Renderer(settings, Links.for_settings(settings, signer), notices=False)
    mine = topics_of(store, ids) if only else None
    personalize = make_personalizer(store, settings, edition, now, renderer, topics=mine)
    writer = FolderWriter(out or new_folder(edition.date))
    done.folder = writer.folder
    progress.start("render (dry run)", total=len(ids))
    for offset in range(0, len(ids), BATCH):
        with store.begin() as conn:
            found = subscribers.get_many(conn, ids[offset : offset + BATCH])
        for message in personalize([found[i] for i in ids[offset : offset + BATCH] if i in found]):
            writer.write(message)
            done.rendered += 1
            done.size += len(message.data)
            progress.advance()
    average = done.size / done.rendered / 1024 if done.rendered else 0
    _line(
        done,
        progress,
        f"dry run: {plural(done.rendered, 'email')} rendered ({average:.0f} KB each) into {writer.folder},"
        f" none sent in {time.monotonic() - started:.1f}s",
    )


def _line(done: DryRun, progress: Progress, text: str) -> None:
    done.lines.append(text)
    progress.done(text)
