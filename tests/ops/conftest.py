"""A real web server for ``doctor``: the HTTP stub answering ``/health``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http import Reply, running_stub, text_plain


@pytest.fixture
def http_server() -> Iterator[str]:
    """A web server on 127.0.0.1 that answers ``/health`` with 200; yields its base URL."""
    with running_stub() as stub:
        stub.script("/health", Reply(200, b"ok\n", text_plain()))
        yield stub.url
