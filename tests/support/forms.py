"""Reading the HTML forms the web app serves."""

from __future__ import annotations

import re

import httpx


def csrf_of(page: httpx.Response) -> str:
    """The value of the page's hidden ``csrf`` field (AssertionError when it has none)."""
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "no CSRF field on the page"
    return found.group(1)
