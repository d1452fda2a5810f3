"""Issue 16: the web view ranks as the hybrid email did, from the vectors the daily run
stored, and never loads the model in the web process (without them it ranks lexically)."""

from __future__ import annotations

import datetime as dt

import httpx

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Message, Profile
from newsletter.pipeline.embeddings import StoredEmbeddings
from newsletter.pipeline.week_embeddings import view_embeddings
from newsletter.rank.embed import load_encoder
from newsletter.store import editions, subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from newsletter.web import create_app
from tests.rank.test_lexical import SEED, _seed
from tests.support.clock import FakeClock
from tests.support.needs import need
from tests.web.helpers import BASE

RANKED = dt.date(2026, 11, 26)  # its daily run stored the vectors
UNRANKED = dt.date(2026, 11, 25)  # ranked without the extra: nothing stored

MEANING = "close in meaning to “lifelong learning”"


async def test_the_web_view_ranks_on_meaning_from_stored_vectors_only(
    store: Store, clock: FakeClock, signer: Signer, links: Links, web_settings: Settings
) -> None:
    encoder = load_encoder()
    need(encoder is not None, "the semantic extra is not installed (pip install -e '.[semantic]')")
    need(SEED.exists(), f"the shared seed page is missing: {SEED}")
    assert encoder is not None
    papers = _seed()[:30]
    profile = Profile(topics=("lifelong learning",))
    with store.begin() as conn:
        sub = subscribers.add(conn, "ada@example.org", now=clock(), profile=profile)
        ranked = editions.freeze(conn, RANKED, papers, sources=["hf"], now=clock())
        editions.freeze(conn, UNRANKED, papers, sources=["hf"], now=clock())
    StoredEmbeddings(store, ranked, encoder, clock()).prepare(ranked.papers, profile.topics)
    encoder.release()
    found = view_embeddings(store)
    assert found is not None

    async def send(message: Message) -> None:
        raise AssertionError("a GET sends nothing")

    app = create_app(web_settings, store, signer, send=send, clock=clock, view_embeddings=found)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        hybrid = await client.get(links.web_view(sub, RANKED))
        lexical = await client.get(links.web_view(sub, UNRANKED))
    assert hybrid.status_code == 200 and MEANING in hybrid.text
    assert lexical.status_code == 200 and MEANING not in lexical.text
    assert not encoder.loaded  # stored vectors only: the page never loaded the model
