"""Stored embeddings (issue 16, m041/m042): an edition's passage vectors and topic vectors
by phrase, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import numpy as np

from newsletter.store import embeddings
from newsletter.store.db import Store

NOW = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)


def _unit(rows: int, seed: int) -> np.ndarray:
    values = np.random.default_rng(seed).normal(size=(rows, 384)).astype(np.float32)
    return values / np.linalg.norm(values, axis=1, keepdims=True)


def test_paper_vectors_round_trip_and_a_stale_fingerprint_misses(store: Store) -> None:
    vectors = _unit(5, 1)
    with store.begin() as conn:
        embeddings.save_papers(
            conn, 7, "m", "f1", vectors, ["t", "a", "b", "t2", "c"], [0, 3, 5], NOW
        )
    with store.begin() as conn:
        found = embeddings.load_papers(conn, 7, "m", "f1", 384)
        assert embeddings.load_papers(conn, 7, "m", "other", 384) is None
        assert embeddings.load_papers(conn, 8, "m", "f1", 384) is None
    assert found is not None
    loaded, texts, starts = found
    assert texts == ["t", "a", "b", "t2", "c"] and starts == [0, 3, 5]
    assert np.abs(loaded - vectors).max() < 1e-3  # float16 storage
    with store.begin() as conn:  # replacing keeps one row
        embeddings.save_papers(conn, 7, "m", "f2", vectors[:2], ["t", "a"], [0, 2], NOW)
        again = embeddings.load_papers(conn, 7, "m", "f2", 384)
    assert again is not None and again[0].shape == (2, 384)


def test_topic_vectors_are_cached_by_phrase(store: Store) -> None:
    vectors = _unit(2, 2)
    with store.begin() as conn:
        embeddings.save_topics(conn, "m", {"a": vectors[0], "b": vectors[1]}, NOW)
        embeddings.save_topics(conn, "m", {"a": vectors[1], "x" * 500: vectors[0]}, NOW)
    with store.begin() as conn:
        found = embeddings.load_topics(conn, "m", ["a", "b", "c", "x" * 500], 384)
        other_model = embeddings.load_topics(conn, "n", ["a"], 384)
    assert set(found) == {"a", "b"}
    assert np.abs(found["a"] - vectors[0]).max() < 1e-3  # the first vector stays
    assert other_model == {}
