"""Screenshots of an email's HTML in headless Chromium: 375 and 800 px, light and dark.

Used by ``newsletter preview --screenshot`` and by the README's pictures. The page is
loaded with every network request refused, so nothing leaves the machine.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = (375, 800)
SCHEMES = ("light", "dark")


def screenshot_html(
    html: str, out_dir: Path, stem: str, *, executable: str = CHROMIUM, full_page: bool = True
) -> list[Path]:
    """Write ``{stem}-{width}-{scheme}.png`` for each width and colour scheme; return the paths."""
    from playwright.sync_api import sync_playwright  # heavy: imported only when used

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for width in WIDTHS:
                for scheme in SCHEMES:
                    page = browser.new_page(
                        viewport={"width": width, "height": 900},
                        color_scheme=scheme,  # type: ignore[arg-type]
                    )
                    page.route("**/*", lambda route: route.abort())
                    page.set_content(html, wait_until="load")
                    path = out_dir / f"{stem}-{width}-{scheme}.png"
                    page.screenshot(path=str(path), full_page=full_page)
                    page.close()
                    written.append(path)
        finally:
            browser.close()
    log.info("wrote %d screenshots to %s", len(written), out_dir)
    return written
