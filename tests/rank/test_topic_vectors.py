"""Issue 16, speed: a topic is embedded when it is saved, so the daily run finds its
vector cached and embeds nothing (``newsletter.topic_vectors``). The web form and the
reply command are tested with their own suites (tests/web/test_preferences.py,
tests/inbox/test_process.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from newsletter.cli import main
from newsletter.models import Paper
from newsletter.pipeline.embeddings import StoredEmbeddings
from newsletter.rank.embed import DIMENSIONS, MODEL_ID, Encoder, load_encoder, model_files
from newsletter.store import editions
from newsletter.store import embeddings as stored
from newsletter.store.db import Store
from newsletter.topic_vectors import cache_topics
from tests.support.needs import need

NOW = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)


def cached(store: Store, phrases: list[str]) -> dict[str, np.ndarray]:
    """The topic cache's vectors of those phrases (keys as the ranker writes them)."""
    with store.begin() as conn:
        return stored.load_topics(conn, MODEL_ID, phrases, DIMENSIONS)


def test_cli_add_topics_and_import_cache_the_new_phrases(database_url: str, tmp_path: Path) -> None:
    need(load_encoder() is not None, "the semantic extra is not installed")
    env = tmp_path / "test.env"
    env.write_text(f"NEWSLETTER_DATABASE_URL={database_url}\n")

    def run(*args: str) -> None:
        result = CliRunner().invoke(main, ["--env-file", str(env), *args])
        assert result.exit_code == 0, result.output

    run("subscribers", "add", "ada@example.org", "--topic", "Test-Time  Adaptation")
    store = Store.open(database_url, now=NOW)
    assert set(cached(store, ["test-time adaptation"])) == {"test-time adaptation"}
    run("subscribers", "topics", "ada@example.org", "--topic", "PEFT")
    assert set(cached(store, ["peft", "test-time adaptation"])) == {"peft", "test-time adaptation"}
    rows = "email,topics\nbob@example.org,lifelong learning;graph neural networks\n"
    rows += "cy@example.org,graph neural networks;diffusion models\n"
    (tmp_path / "people.csv").write_text(rows)
    run("subscribers", "import", str(tmp_path / "people.csv"))
    new = ["lifelong learning", "graph neural networks", "diffusion models"]
    assert set(cached(store, new)) == set(new)
    # The cached vector is the model's own (stored as float16).
    encoder = load_encoder()
    assert encoder is not None
    fresh = encoder.encode(["lifelong learning"])[0]
    assert np.abs(cached(store, ["lifelong learning"])["lifelong learning"] - fresh).max() < 1e-3


def test_a_run_after_the_save_embeds_no_topic(sqlite_store: Store) -> None:
    files = model_files()
    need(files is not None, "the semantic extra is not installed")
    assert files is not None
    paper = Paper("2611.00001", "Continual learning at scale", "We study continual learning.")
    with sqlite_store.begin() as conn:
        edition = editions.freeze(conn, NOW.date(), [paper], sources=["hf"], now=NOW)
    assert cache_topics(sqlite_store, ["Lifelong learning", "PEFT", "  "], NOW) == 2
    assert cache_topics(sqlite_store, ["lifelong learning"], NOW) == 0  # already cached
    assert not load_encoder().loaded  # type: ignore[union-attr]  # released after the save
    own = Encoder(*files)  # the run's: counts what it embeds
    run = StoredEmbeddings(sqlite_store, edition, own, NOW)
    vectors = run.topics(["lifelong learning", "peft"])
    assert own.texts_encoded == 0 and vectors.shape == (2, DIMENSIONS)
    run.topics(["curriculum learning"])  # saved while the extra was missing: embedded now
    assert own.texts_encoded == 1


def test_one_readers_email_makes_ready_only_that_readers_topics(sqlite_store: Store) -> None:
    """``run --only``, ``--dry-run --only`` and ``preview`` prepare the recipients' topics,
    not every reader's (each new one would cost about 2.5 ms of CPU)."""
    need(load_encoder() is not None, "the semantic extra is not installed")
    from newsletter.config import Settings
    from newsletter.links import Links
    from newsletter.models import Profile
    from newsletter.pipeline.batches import make_personalizer, topics_of
    from newsletter.render import Renderer
    from newsletter.store import subscribers
    from newsletter.tokens import Signer

    paper = Paper("2611.00001", "Continual learning at scale", "We study continual learning.")
    with sqlite_store.begin() as conn:
        edition = editions.freeze(conn, NOW.date(), [paper], sources=["hf"], now=NOW)
        ada = subscribers.add(
            conn, "ada@example.org", now=NOW, profile=Profile(topics=("sparse attention",))
        )
        subscribers.add(
            conn, "bo@example.org", now=NOW, profile=Profile(topics=("protein folding",))
        )
    settings = Settings(_env_file=None, secret_key="k" * 32, base_url="https://n.example")
    renderer = Renderer(settings, Links.for_settings(settings, Signer(settings.secret_key)))
    mine = topics_of(sqlite_store, [ada.id])
    assert mine == {"sparse attention"}
    make_personalizer(sqlite_store, settings, edition, NOW, renderer, topics=mine)
    assert set(cached(sqlite_store, ["sparse attention", "protein folding"])) == {
        "sparse attention"
    }
    make_personalizer(sqlite_store, settings, edition, NOW, renderer)  # the whole daily run
    assert len(cached(sqlite_store, ["sparse attention", "protein folding"])) == 2
