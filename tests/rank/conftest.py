"""Fixtures the hybrid-ranking tests share: the packaged encoder and the seed page's papers
(each skips with a reason when missing; in CI a skip fails the run)."""

from __future__ import annotations

import pytest

from newsletter.models import Paper
from newsletter.rank.embed import Encoder, load_encoder
from tests.rank.test_lexical import SEED, _seed
from tests.support.needs import need


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    found = load_encoder()
    need(found is not None, "the semantic extra is not installed (pip install -e '.[semantic]')")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def seed() -> list[Paper]:
    need(SEED.exists(), f"the shared seed page is missing: {SEED}")
    return _seed()
