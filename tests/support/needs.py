"""Tools a test needs, and where the real fixtures are.

A test that needs a tool absent on this machine calls ``need(condition, reason)``: it skips
with the reason locally, and fails under ``CI=true`` (a skip in CI is a failure, so CI
cannot go green by skipping).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES_ENV = "NEWSLETTER_FIXTURES"
DEFAULT_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "real"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(condition: object, reason: str) -> None:
    """Skip (locally) or fail (in CI) when ``condition`` is false."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def fixtures_dir() -> Path:
    """The folder of real captured responses (``$NEWSLETTER_FIXTURES`` or
    ../shared/fixtures/real beside the checkout)."""
    return Path(os.environ.get(FIXTURES_ENV, str(DEFAULT_FIXTURES)))
