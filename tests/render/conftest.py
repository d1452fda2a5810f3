"""Fixtures for the render tests: Settings, Links, Renderer, a reader, the largest real day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Edition, Profile, Subscriber
from newsletter.render import Renderer
from newsletter.tokens import Signer
from tests.render.editions import BASE_URL, LARGEST_DAY, edition_of, hf_papers


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        base_url=BASE_URL,
        from_address="Daily Papers <papers@example.org>",
        postal_address="1 Example Street, 75000 Paris",
        archive_dir=tmp_path / "archive",
    )


@pytest.fixture
def links() -> Links:
    return Links(
        base_url=BASE_URL,
        signer=Signer.from_secrets("test-secret"),
        reply_address="papers@example.org",
    )


@pytest.fixture
def renderer(settings: Settings, links: Links) -> Renderer:
    return Renderer(settings, links)


@pytest.fixture
def subscriber() -> Subscriber:
    return Subscriber(
        id=42,
        email="ada@example.com",
        name="Ada Lovelace",
        profile=Profile(topics=("multimodal agents", "image generation", "benchmarks")),
        token_nonce="ada-nonce",
    )


@pytest.fixture
def largest_day(real_fixtures: Path) -> Edition:
    return edition_of(hf_papers(real_fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
