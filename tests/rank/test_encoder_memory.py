"""Issue 18, memory: the encoder's ONNX runs stay small whatever the texts.

A run's activations grow with its rows times its padded width (a batch of 64 real
passages of 86 tokens raised the peak by about 150 MB): the encoder cuts its texts into
runs of at most ``_TOKENS`` padded tokens, and the vectors are the same as one text
at a time. Real model, real passages; the session is only watched (its calls recorded).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from newsletter.rank import embed
from newsletter.rank.embed import Encoder, model_files
from newsletter.rank.semantic import passages
from tests.rank.test_lexical import SEED, _seed
from tests.support.needs import need


class Watched:
    """The real session, recording the shape of every run's ``input_ids``."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.shapes: list[tuple[int, int]] = []

    def run(self, outputs: Any, feeds: dict[str, np.ndarray]) -> Any:
        self.shapes.append(feeds["input_ids"].shape)
        return self.session.run(outputs, feeds)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    files = model_files()
    need(files is not None, "the semantic extra is not installed (pip install -e '.[semantic]')")
    assert files is not None
    return Encoder(*files)  # its own session, so the runs watched are this test's


def test_runs_are_cut_by_padded_tokens_and_the_vectors_do_not_change(encoder: Encoder) -> None:
    need(SEED.exists(), f"the shared seed page is missing: {SEED}")
    texts = [t for paper in _seed()[:30] for t in passages(paper)]
    texts += [f"topic {i}" for i in range(100)]  # short ones: many rows per run
    encoder.encode(["load the session"])
    watched = Watched(encoder._session)
    encoder._session = watched
    encoder._known.clear()

    vectors = encoder.encode(texts)

    assert watched.shapes, "nothing was encoded"
    assert all(rows * width <= embed._TOKENS or rows == 1 for rows, width in watched.shapes)
    assert all(rows <= embed._BATCH for rows, _ in watched.shapes)
    wide = [rows for rows, width in watched.shapes if width > embed._TOKENS // embed._BATCH]
    assert wide and max(wide) < embed._BATCH  # real passages: their runs were cut short
    assert max(rows for rows, _ in watched.shapes) == embed._BATCH  # short texts still batch
    assert sum(rows for rows, _ in watched.shapes) == len(set(texts))
    encoder._known.clear()
    alone = np.stack([encoder._encode([t])[0] for t in texts[::17]])
    np.testing.assert_allclose(vectors[::17], alone, atol=1e-5)


def test_texts_at_the_token_limit_go_a_few_per_run(encoder: Encoder) -> None:
    longest = [f"{i} " + " ".join(["adaptation"] * 400) for i in range(8)]  # cut at 256
    encoder.encode(["load the session"])
    watched = Watched(encoder._session)
    encoder._session = watched
    encoder._known.clear()
    vectors = encoder.encode(longest)
    per_run = embed._TOKENS // embed.MAX_TOKENS
    assert watched.shapes == [(per_run, embed.MAX_TOKENS), (8 - per_run, embed.MAX_TOKENS)]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
