"""A reader's whole journey in headless Chromium against a real ``newsletter serve`` and an
aiosmtpd sink: subscribe, confirm, welcome, the web view from the email, every preference,
pause, resume, feedback and undo, unsubscribe (with its gentler choices), goodbye,
resubscribe. Each step checks the page and the database.

The key pages are also checked at 375 and 800 px, light and dark (no sideways scrolling)
and photographed; ``SCREENSHOTS_DIR=docs/screenshots`` writes the pictures there (README).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.personalize import make_ranker
from newsletter.render import Renderer
from newsletter.sources import sample
from newsletter.store import editions, subscribers
from newsletter.store.db import Store
from newsletter.store.schema import feedback
from newsletter.tokens import Signer
from tests.support.needs import need
from tests.support.ports import free_port
from tests.support.smtp import running_smtp_sink
from tests.web.servers import newsletter_serve, serve_env
from tests.web.test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

SIZES = (375, 800)
SCHEMES = ("light", "dark")


def _links(message: Any, marker: str) -> list[str]:
    body = message.get_body(("plain",))
    return [u for u in re.findall(r"https?://\S+", body.get_content()) if marker in u]


async def _shoot(page: Any, name: str, folders: list[Path]) -> None:
    """The page at each width and colour scheme: no sideways scroll; a full-page picture."""
    for width in SIZES:
        for scheme in SCHEMES:
            await page.set_viewport_size({"width": width, "height": 900})
            await page.emulate_media(color_scheme=scheme)
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways at {width} px ({scheme})"
            for folder in folders:
                await page.screenshot(
                    path=str(folder / f"{name}-{width}-{scheme}.png"), full_page=True
                )
    await page.set_viewport_size({"width": 800, "height": 900})
    await page.emulate_media(color_scheme="light")


async def test_reader_journey(tmp_path: Path) -> None:
    need(shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover
        need(False, "playwright for Python is not installed")
        raise
    folders = [tmp_path / "shots"]
    if os.environ.get("SCREENSHOTS_DIR"):
        folders.append(Path(os.environ["SCREENSHOTS_DIR"]).resolve())
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with running_smtp_sink() as sink:
        env = serve_env(tmp_path, sink, port)
        with newsletter_serve(env, port, tmp_path) as base:
            store = Store.open(env["NEWSLETTER_DATABASE_URL"], now=dt.datetime.now(dt.UTC))
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = await browser.new_page()
                try:
                    await _journey(page, base, env, store, sink, folders)
                finally:
                    store.close()
                    await browser.close()
    assert len(list((tmp_path / "shots").glob("*.png"))) == 4 * len(SIZES) * len(SCHEMES)


async def _journey(
    page: Any, base: str, env: dict[str, str], store: Store, sink: Any, folders: list[Path]
) -> None:
    def db(sid: int) -> Any:
        with store.begin() as conn:
            return subscribers.get(conn, sid)

    # 1. Subscribe: the form, then a confirmation email.
    await page.goto(f"{base}/subscribe")
    await page.get_by_label("Email address").fill("ada@example.org")
    await page.get_by_label("Topics").fill("diffusion models\nLLM agents")
    await page.get_by_role("button", name="Subscribe").click()
    await page.get_by_role("heading", name="Check your inbox").wait_for()
    mail = await asyncio.to_thread(sink.wait_for, 1)
    (confirm_url,) = _links(mail[0], "/confirm/")
    with store.begin() as conn:
        sid = subscribers.require_by_email(conn, "ada@example.org").id
    assert db(sid).status == "pending"

    # 2. Confirm, and the welcome email.
    await page.goto(confirm_url)
    assert db(sid).status == "pending"  # the GET changed nothing
    await page.get_by_role("button", name="Confirm subscription").click()
    await page.get_by_role("heading", name="You are subscribed").wait_for()
    assert db(sid).status == "active"
    mail = await asyncio.to_thread(sink.wait_for, 2)
    assert mail[1]["Subject"] == "Welcome to Daily Papers"
    (unsubscribe_url,) = _links(mail[1], "/unsubscribe/")

    # 3. A day's digest for this reader (rendered as the daily run does), and its
    #    "View in browser" link opens the reader's own email.
    now = dt.datetime.now(dt.UTC)
    papers = sample.parse(sample.read())
    with store.begin() as conn:
        edition = editions.freeze(conn, now.date(), papers, sources=["sample"], now=now)
    settings = Settings(
        _env_file=None,
        base_url=base,
        secret_key=env["NEWSLETTER_SECRET_KEY"],
        archive_dir=Path(env["NEWSLETTER_ARCHIVE_DIR"]),
    )
    links = Links.for_settings(settings, Signer.from_secrets(env["NEWSLETTER_SECRET_KEY"]))
    reader = db(sid)
    sections = make_ranker(settings, edition.papers).rank(reader.profile)
    digest = Renderer(settings, links).digest(edition, reader, sections, now=now)
    (view_url,) = [u for u in re.findall(r'href="([^"]+/view/[^"]+)"', digest.html)][:1]
    await page.goto(view_url)
    await page.get_by_text("Why this paper").first.wait_for()
    assert await page.get_by_role("link", name="+ More like this").count() >= 5
    assert db(sid) == reader  # a GET changes nothing
    await _shoot(page, "web-view", folders)

    # 4. Every preference, from the web view's "Preferences" link.
    await page.get_by_role("link", name="Preferences").first.click()
    await page.get_by_role("heading", name="Your preferences").wait_for()
    await page.get_by_label("Topics").fill("diffusion models\nprotein design")
    await page.get_by_label("Search the categories").fill("robot")
    assert await page.locator("#categories .choice:visible").count() == 1
    await page.get_by_label("Robotics").check()
    await page.get_by_label("Followed authors").fill("Yoshua Bengio")
    await page.get_by_label("Exclusions").fill("survey")
    await page.get_by_label("Weekly: the week's best").check()
    await page.get_by_role("button", name="Save preferences").click()
    await page.get_by_text("Added to topics: protein design.").wait_for()
    for said in (
        "Removed from topics: LLM agents.",
        "Added to categories: cs.RO.",
        "Added to followed authors: Yoshua Bengio.",
        "Added to exclusions: survey.",
        "Frequency: now weekly (was daily).",
    ):
        assert await page.get_by_text(said).count() == 1, said
    after = db(sid)
    assert after.topics == ("diffusion models", "protein design")
    assert after.profile.categories == ("cs.RO",)
    assert after.profile.authors == ("Yoshua Bengio",)
    assert after.profile.exclude == ("survey",)
    assert after.frequency == "weekly"
    await page.get_by_label("Search the categories").fill("")
    await _shoot(page, "preferences", folders)

    # 5. Pause until a date, pause indefinitely, resume.
    until = (now.date() + dt.timedelta(days=14)).isoformat()
    await page.locator("#paused_until").fill(until)
    await page.get_by_role("button", name="Pause until this date").click()
    await page.get_by_text(f"the next email comes on {until}").wait_for()
    assert (db(sid).status, str(db(sid).paused_until)) == ("paused", until)
    await page.get_by_role("button", name="Pause until I resume").click()
    await page.get_by_text("Paused until you resume").first.wait_for()
    assert (db(sid).status, db(sid).paused_until) == ("paused", None)
    await page.get_by_role("button", name="Resume now").click()
    await page.get_by_text("Resumed: you will get the next email.").wait_for()
    assert (db(sid).status, db(sid).paused_until) == ("active", None)

    # 6. Feedback from the web view, and its undo.
    def signals() -> list[tuple[int, str, int]]:
        with store.begin() as conn:
            rows = conn.execute(
                feedback.select().with_only_columns(
                    feedback.c.subscriber_id, feedback.c.arxiv_id, feedback.c.signal
                )
            ).all()
        return [(int(a), str(b), int(c)) for a, b, c in rows]

    await page.goto(view_url)
    await page.get_by_role("link", name="+ More like this").first.click()
    await page.get_by_role("heading", name="More like this").wait_for()
    assert signals() == []  # the link alone records nothing
    await page.get_by_role("button", name="More like this").click()
    await page.get_by_role("heading", name="Thank you").wait_for()
    (row,) = signals()
    assert row[0] == sid and row[2] == 1
    await _shoot(page, "feedback", folders)
    await page.get_by_role("button", name="Undo").click()
    await page.get_by_role("heading", name="Undone").wait_for()
    assert signals() == []
    await page.get_by_role("link", name="Your preferences").click()
    await page.get_by_role("heading", name="Your preferences").wait_for()

    # 7. Unsubscribe: the gentler choices are offered; the reader unsubscribes anyway.
    await page.goto(unsubscribe_url)
    await page.get_by_role("button", name="Pause until I resume").wait_for()
    assert await page.get_by_role("button", name="Switch to weekly").count() == 0  # weekly already
    await _shoot(page, "unsubscribe", folders)
    assert db(sid).status == "active"
    await page.get_by_role("button", name="Unsubscribe", exact=True).click()
    await page.get_by_role("heading", name="You are unsubscribed").wait_for()
    assert db(sid).status == "unsubscribed"
    mail = await asyncio.to_thread(sink.wait_for, 3)
    assert mail[2]["Subject"] == "You are unsubscribed from Daily Papers"
    (resubscribe_url,) = _links(mail[2], "/resubscribe/")

    # 8. Subscribe again from the goodbye email; preferences kept.
    await page.goto(resubscribe_url)
    assert db(sid).status == "unsubscribed"
    await page.get_by_role("button", name="Confirm subscription").click()
    await page.get_by_role("heading", name="You are subscribed").wait_for()
    back = db(sid)
    assert back.status == "active" and back.profile == after.profile
