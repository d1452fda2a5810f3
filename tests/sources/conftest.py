"""Fixtures for the source tests: the HTTP stub on 127.0.0.1, and a clock whose sleeps
are recorded (backoff waits are not slept)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.clock import FakeClock
from tests.support.http import StubServer, running_stub


@pytest.fixture
def server() -> Iterator[StubServer]:
    with running_stub() as stub:
        yield stub


@pytest.fixture
def sleeps() -> FakeClock:
    """Pass ``sleeps.sleep`` where code takes ``sleep=``; the waits are in ``sleeps.slept``."""
    return FakeClock()
