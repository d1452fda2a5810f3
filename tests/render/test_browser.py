"""The emails opened in headless Chromium at 375 and 800 px, as a reader would see them."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from newsletter.models import Edition, Subscriber
from newsletter.ops.screenshot import CHROMIUM, CHROMIUM_ARGS, screenshot_html
from newsletter.render import Renderer
from newsletter.render.clean import clean_text
from tests.render.editions import BASE_URL, NOW, edition_of, hf_papers, split_sections
from tests.support.needs import need

pytestmark = pytest.mark.browser

DAYS = [
    "hf_daily_papers_2026-08-18.json",
    "hf_daily_papers_2026-08-11.json",
    "hf_daily_papers_2025-10-15.json",
    "hf_daily_papers_2024-06-14.json",
]


def _browser_available() -> None:
    need(os.access(CHROMIUM, os.X_OK), f"Chromium not found at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        need(False, "Playwright for Python is not installed")


@pytest.mark.parametrize("day", DAYS)
def test_fixture_day_reads_well_at_375_and_800(
    real_fixtures: Path, renderer: Renderer, subscriber: Subscriber, day: str
) -> None:
    _browser_available()
    from playwright.sync_api import sync_playwright

    papers = hf_papers(real_fixtures / day)
    edition: Edition = edition_of(papers, dt.date.fromisoformat(day[-15:-5]))
    sections = split_sections(papers, subscriber.topics)
    html = renderer.digest(edition, subscriber, sections, now=NOW).html
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width in (375, 800):
                page = browser.new_page(viewport={"width": width, "height": 800})
                page.route("**/*", lambda route: route.abort())
                page.set_content(html)
                scroll_width = page.evaluate("document.documentElement.scrollWidth")
                assert scroll_width <= width, f"horizontal scroll at {width}px: {scroll_width}"
                titles = page.locator("a.nl-title")
                assert titles.count() == len(papers)
                shown = [item.paper for section in sections for item in section.items]
                for index, paper in enumerate(shown):
                    title = titles.nth(index)
                    assert title.inner_text().split() == clean_text(paper.title).split()
                    box = title.bounding_box()
                    assert box is not None and box["width"] > 0 and box["height"] > 0
                    assert box["x"] >= 0 and box["x"] + box["width"] <= width
                for label, path in (
                    ("Unsubscribe", "/unsubscribe/"),
                    ("Manage topics", "/preferences/"),
                ):
                    link = page.get_by_role("link", name=label, exact=True).last
                    assert link.is_visible()
                    assert (link.get_attribute("href") or "").startswith(BASE_URL + path)
                body = page.content()
                assert "{{" not in body and "<mj-" not in body
                page.close()
        finally:
            browser.close()


def test_screenshots_light_and_dark(
    renderer: Renderer, largest_day: Edition, subscriber: Subscriber, tmp_path: Path
) -> None:
    _browser_available()
    sections = split_sections(list(largest_day.papers), subscriber.topics)
    html = renderer.digest(largest_day, subscriber, sections, now=NOW).html
    paths = screenshot_html(html, tmp_path / "shots", "digest", full_page=False)
    assert [p.name for p in paths] == [
        "digest-375-light.png",
        "digest-375-dark.png",
        "digest-800-light.png",
        "digest-800-dark.png",
    ]
    sizes = {p.name: p.stat().st_size for p in paths}
    assert all(size > 10_000 for size in sizes.values())
    # dark mode really changes the picture (the prefers-color-scheme styles apply)
    assert paths[0].read_bytes() != paths[1].read_bytes()


# Each "·" of a paper's link row must sit on the line of the link that follows it.
_SEPARATORS_LEFT_ALONE = """() => {
  const alone = [];
  for (const row of document.querySelectorAll(".nl-links")) {
    const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.data.indexOf("·");
      if (at < 0) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + 1);
      const dot = range.getBoundingClientRect();
      let next = node.nextSibling;
      while (next && next.nodeName !== "A") next = next.nextSibling;
      const link = next ? next.getClientRects()[0] : null;
      if (!link || Math.abs(link.top - dot.top) > 2) alone.push(row.innerText);
    }
  }
  return alone;
}"""


def test_link_row_never_ends_a_line_with_a_separator(
    renderer: Renderer, largest_day: Edition, subscriber: Subscriber
) -> None:
    _browser_available()
    from playwright.sync_api import sync_playwright

    sections = split_sections(list(largest_day.papers), subscriber.topics)
    html = renderer.digest(largest_day, subscriber, sections, now=NOW).html
    assert any(p.github_repo for p in largest_day.papers)  # rows with HF page and Code too
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width in (320, 375, 800):
                page = browser.new_page(viewport={"width": width, "height": 800})
                page.route("**/*", lambda route: route.abort())
                page.set_content(html)
                rows = page.locator(".nl-links")
                assert rows.count() == len(largest_day.papers)
                heights = page.evaluate(
                    "[...document.querySelectorAll('.nl-links')].map(r => r.getClientRects().length"
                    " && r.getBoundingClientRect().height)"
                )
                assert max(heights) > 30 or width == 800  # some rows do wrap on a phone
                assert page.evaluate(_SEPARATORS_LEFT_ALONE) == [], width
                page.close()
        finally:
            browser.close()
