"""The flows a person clicks, in headless Chromium against a real ``newsletter serve``."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from newsletter.store import subscribers
from newsletter.store.db import Store
from tests.support.needs import need
from tests.support.ports import free_port
from tests.support.smtp import running_smtp_sink
from tests.web.servers import newsletter_serve, serve_env

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


def _text_links(message: object, marker: str) -> list[str]:
    body = message.get_body(("plain",))  # type: ignore[attr-defined]
    return [u for u in re.findall(r"https?://\S+", body.get_content()) if marker in u]


async def test_subscribe_confirm_preferences_unsubscribe(tmp_path: Path) -> None:
    need(shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover
        need(False, "playwright for Python is not installed")
        raise
    port = free_port()
    with running_smtp_sink() as sink:
        env = serve_env(tmp_path, sink, port)
        with newsletter_serve(env, port, tmp_path) as base:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = await browser.new_page()

                # Subscribe: the form, then a confirmation email at the SMTP sink.
                await page.goto(f"{base}/subscribe")
                await page.get_by_label("Email address").fill("ada@example.org")
                await page.get_by_label("Topics").fill("diffusion models\nLLM agents")
                await page.get_by_role("button", name="Subscribe").click()
                await page.get_by_role("heading", name="Check your inbox").wait_for()
                messages = await asyncio.to_thread(sink.wait_for, 1)
                assert messages[0]["To"] == "ada@example.org"
                (confirm_url,) = _text_links(messages[0], "/confirm/")
                assert confirm_url.startswith(base)

                store = Store.open(env["NEWSLETTER_DATABASE_URL"], now=dt.datetime.now(dt.UTC))
                try:
                    with store.begin() as conn:
                        sub = subscribers.require_by_email(conn, "ada@example.org")
                    assert sub.status == "pending"

                    # Confirm: the link shows a button; the click activates.
                    await page.goto(confirm_url)
                    with store.begin() as conn:
                        assert subscribers.get(conn, sub.id).status == "pending"
                    await page.get_by_role("button", name="Confirm subscription").click()
                    await page.get_by_role("heading", name="You are subscribed").wait_for()
                    with store.begin() as conn:
                        assert subscribers.get(conn, sub.id).status == "active"
                    messages = await asyncio.to_thread(sink.wait_for, 2)
                    assert messages[1]["Subject"] == "Welcome to Daily Papers"

                    # Preferences: change topics on the page the confirmation links to.
                    await page.get_by_role("link", name="Choose your topics").click()
                    await page.get_by_label("Topics").fill("graph neural networks")
                    await page.get_by_label("Weekly: the week's best").check()
                    await page.get_by_role("button", name="Save preferences").click()
                    await page.get_by_text("Your preferences are saved.").wait_for()
                    with store.begin() as conn:
                        after = subscribers.get(conn, sub.id)
                    assert after.topics == ("graph neural networks",)
                    assert after.frequency == "weekly"

                    # Unsubscribe from the welcome email's link.
                    assert not _text_links(messages[0], "/unsubscribe/")  # not subscribed yet
                    (unsubscribe_url,) = _text_links(messages[1], "/unsubscribe/")
                    await page.goto(unsubscribe_url)
                    with store.begin() as conn:
                        assert subscribers.get(conn, sub.id).status == "active"
                    await page.get_by_role("button", name="Unsubscribe").click()
                    await page.get_by_role("heading", name="You are unsubscribed").wait_for()
                    with store.begin() as conn:
                        assert subscribers.get(conn, sub.id).status == "unsubscribed"
                    messages = await asyncio.to_thread(sink.wait_for, 3)
                    assert messages[2]["Subject"] == "You are unsubscribed from Daily Papers"
                    assert _text_links(messages[2], "/resubscribe/")
                finally:
                    store.close()
                    await browser.close()
