"""The web archive: one static page per edition, an index of editions, an Atom feed.

    archive/2026-08-18.html   the edition's web version (``Renderer.web_page``)
    archive/index.html        past editions, newest first
    archive/feed.xml          Atom feed of the latest editions
    archive/editions.json     what the index and the feed are built from

Served under ``BASE_URL/archive/`` (``newsletter serve``); until then plain files. Every
link between them is relative (``2026-08-18.html``, ``feed.xml``, ``../subscribe``), so the
folder works opened from disk and behind any ``BASE_URL``; only the Atom ids stay absolute
(RFC 4287 §4.2.6 asks for an absolute IRI). Every file is written atomically (temporary
file, then rename), so a reader never sees half a page.

Each edition's page lists every paper of the edition: the sections of a reader without
topics first, then the rest, grouped by primary arXiv category (``every_paper``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from newsletter.errors import StoreError
from newsletter.files import PUBLIC, write_atomic
from newsletter.models import Edition, Paper, RankedItem, Section
from newsletter.render.clean import clean_text
from newsletter.render.compile import jinja_environment, load_jinja, template_dirs
from newsletter.render.views import day_label
from newsletter.text import one_line
from newsletter.words import plural

log = logging.getLogger(__name__)

MANIFEST = "editions.json"
FEED_ENTRIES = 30


def edition_summary(edition: Edition) -> str:
    """One line for the archive index: paper count and the top paper's title."""
    count = len(edition.papers)
    if not count:
        return "No papers."
    top = max(edition.papers, key=lambda p: p.upvotes or 0)
    return one_line(f"{plural(count, 'paper')} · top: {clean_text(top.title)}", 200)


def every_paper(
    sections: Sequence[Section],
    papers: Sequence[Paper],
    category_title: Callable[[str], str] = str,
) -> list[Section]:
    """``sections`` followed by one section per primary arXiv category (titled
    ``category_title(code)``, e.g. ``rank.taxonomy.category_title``: "Robotics (cs.RO)";
    most papers first, then by name; "Other papers" last, for papers without a category)
    holding the ``papers`` no section shows yet, in their given order."""
    shown = {item.paper.arxiv_id for section in sections for item in section.items}
    groups: dict[str, list[RankedItem]] = {}
    for paper in papers:
        if paper.arxiv_id in shown:
            continue
        shown.add(paper.arxiv_id)
        code = paper.categories[0] if paper.categories else None
        title = category_title(code) if code else "Other papers"
        groups.setdefault(title, []).append(RankedItem(paper, 0.0))
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] == "Other papers", -len(kv[1]), kv[0]))
    return [*sections, *(Section(title, tuple(items)) for title, items in ordered)]


def _load_manifest(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"archive manifest {path} is unreadable: {exc}") from exc
    if not isinstance(entries, list):
        raise StoreError(f"archive manifest {path} is not a list")
    return [e for e in entries if isinstance(e, dict) and "date" in e]


def write_archive(
    archive_dir: Path,
    edition: Edition,
    html: str,
    base_url: str,
    *,
    list_name: str = "Daily Papers",
    templates_dir: Path | None = None,
    subscribe_url: str | None = None,
    now: dt.datetime | None = None,
) -> Path:
    """Write the edition's page, then rebuild the index and the feed; return the page's path.
    ``base_url`` only makes the feed's ids; ``subscribe_url`` is put as given (relative,
    ``../subscribe``, keeps the folder free of absolute links)."""
    base = base_url.rstrip("/") + "/archive/"
    day = edition.date.isoformat()
    page = archive_dir / f"{day}.html"
    write_atomic(page, html, mode=PUBLIC)

    updated = (now or edition.created_at).astimezone(dt.UTC).isoformat(timespec="seconds")
    manifest_path = archive_dir / MANIFEST
    entries = [e for e in _load_manifest(manifest_path) if e["date"] != day]
    entries.append(
        {
            "date": day,
            "label": f"{list_name}: {day_label(edition.date)}",
            "summary": edition_summary(edition),
            "updated": updated.replace("+00:00", "Z"),
        }
    )
    entries.sort(key=lambda e: str(e["date"]), reverse=True)
    write_atomic(manifest_path, json.dumps(entries, ensure_ascii=False, indent=1), mode=PUBLIC)

    for entry in entries:
        entry["url"] = f"{entry['date']}.html"
        entry["id"] = f"{base}{entry['date']}.html"
    dirs = template_dirs(templates_dir)
    env = jinja_environment(dirs, autoescape=True)
    context = {
        "list_name": list_name,
        "entries": entries,
        "index_url": "index.html",
        "feed_id": base,
        "feed_url": "feed.xml",
        "subscribe_url": subscribe_url,
        "updated": entries[0]["updated"],
    }
    write_atomic(
        archive_dir / "index.html",
        load_jinja(env, dirs, "archive_index.html.j2").render(context),
        mode=PUBLIC,
    )
    context["entries"] = entries[:FEED_ENTRIES]
    feed = load_jinja(env, dirs, "feed.xml.j2").render(context)
    write_atomic(archive_dir / "feed.xml", feed, mode=PUBLIC)
    log.debug("archive: wrote %s (%d editions)", page, len(entries))
    return page
