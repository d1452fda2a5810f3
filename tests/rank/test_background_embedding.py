"""The edition's passages embedded in a background thread while the run does its other
work (issue 18, the run's prelude): the same vectors as in the caller's thread, stored the
same way, and never two users of the encoder at once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from newsletter.models import Edition, Paper
from newsletter.pipeline.embeddings import StoredEmbeddings
from newsletter.rank import embed
from newsletter.rank.embed import Encoder, model_files
from newsletter.rank.semantic import PaperVectors, passages
from newsletter.store import editions, ledger, subscribers
from newsletter.store.db import Store
from tests.support.needs import need

NOW = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)


class ThreadsSeen(Encoder):
    """The packaged encoder, remembering which threads called ``encode``."""

    def __init__(self, model: Path, tokenizer: Path, *, workers: int) -> None:
        super().__init__(model, tokenizer, workers=workers)
        self.threads: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.threads.append(threading.current_thread().name)
        return super().encode(texts)


def own_encoder(workers: int = 1) -> ThreadsSeen:
    files = model_files()
    need(files is not None, "the semantic extra is not installed (pip install -e '.[semantic]')")
    assert files is not None
    return ThreadsSeen(*files, workers=workers)


def frozen(store: Store, papers: list[Paper]) -> Edition:
    with store.begin() as conn:
        return editions.freeze(conn, NOW.date(), papers, sources=["hf"], now=NOW)


def test_the_passages_embedded_in_the_background_equal_the_callers_own(
    sqlite_store: Store, seed: list[Paper]
) -> None:
    papers = seed[:12]
    edition = frozen(sqlite_store, papers)
    encoder = own_encoder()
    run = StoredEmbeddings(sqlite_store, edition, encoder, NOW)
    assert run.start(papers)
    # Meanwhile this thread writes to the same store, as the run queues its readers.
    with sqlite_store.begin() as conn:
        ada = subscribers.add(conn, "ada@example.org", now=NOW)
        assert ledger.enqueue(conn, edition.id, [ada.id], NOW) == 1
    built = run.papers(papers)
    assert encoder.threads and all(name.startswith("embed") for name in encoder.threads)
    alone = PaperVectors.build(papers, own_encoder().encode)  # one thread, start to end
    assert built.texts == alone.texts
    assert np.array_equal(built.starts, alone.starts)
    assert np.array_equal(built.vectors, alone.vectors)  # bit for bit: the same session
    # Stored as a foreground run stores them: the next run reads them, embeds nothing.
    again = own_encoder()
    rerun = StoredEmbeddings(sqlite_store, edition, again, NOW)
    assert not rerun.start(papers)
    assert np.abs(rerun.papers(papers).vectors - alone.vectors).max() < 1e-3  # float16
    assert again.texts_encoded == 0


def test_topics_wait_for_the_passages_then_use_the_same_encoder(
    sqlite_store: Store, seed: list[Paper]
) -> None:
    papers = seed[:3]
    edition = frozen(sqlite_store, papers)
    encoder = own_encoder()
    run = StoredEmbeddings(sqlite_store, edition, encoder, NOW)
    assert run.start(papers)
    run.topics(["continual learning"])  # waits for the passages: one user at a time
    assert encoder.threads[-1] == threading.current_thread().name
    run.prepare(papers, ["continual learning"])  # takes the thread's vectors, embeds nothing
    texts = sum(len(passages(p)) for p in papers)
    assert encoder.texts_encoded == texts + 1
    assert not encoder.loaded  # released before the send, as before


def test_a_day_the_encoder_forks_for_is_embedded_in_the_callers_thread(
    sqlite_store: Store, seed: list[Paper], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Children are forked from the caller's thread only (a fork from the background thread
    could inherit a lock the caller holds)."""
    monkeypatch.setattr(embed, "FORK_FROM", 8)  # a small day stands for a large one
    papers = seed[:3]
    edition = frozen(sqlite_store, papers)
    encoder = own_encoder(workers=2)
    run = StoredEmbeddings(sqlite_store, edition, encoder, NOW)
    assert not run.start(papers)
    run.papers(papers)
    assert encoder.threads == [threading.current_thread().name]
