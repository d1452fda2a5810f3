from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Message
from newsletter.store.db import Store
from newsletter.tokens import Signer
from newsletter.web import create_app
from tests.support.clock import FakeClock
from tests.web.helpers import BASE


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        base_url=BASE,
        secret_key="test-secret-key-0123456789",
        archive_dir=tmp_path / "archive",
        from_address="Daily Papers <papers@example.org>",
    )


@pytest.fixture
def signer() -> Signer:
    return Signer.from_secrets("test-secret-key-0123456789")


@pytest.fixture
def links(signer: Signer) -> Links:
    return Links(base_url=BASE, signer=signer, reply_address="papers@example.org")


@pytest.fixture
def outbox() -> list[Message]:
    return []


@pytest.fixture
def make_app(
    web_settings: Settings, store: Store, signer: Signer, outbox: list[Message], clock: FakeClock
) -> Callable[..., Starlette]:
    async def send(message: Message) -> None:
        outbox.append(message)

    def build(**overrides: object) -> Starlette:
        settings = web_settings.model_copy(update=overrides) if overrides else web_settings
        return create_app(settings, store, signer, send=send, clock=clock)

    return build


@pytest.fixture
async def client(make_app: Callable[..., Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(), client=("203.0.113.7", 1234))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http
