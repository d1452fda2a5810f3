"""Issue 16, speed: how the encoder cuts texts into ONNX calls, and that the cut changes
no vector (a topic embedded alone when it is saved equals the same topic embedded among
thousands during a run)."""

from __future__ import annotations

import numpy as np
import pytest

from newsletter.models import Paper
from newsletter.rank import embed
from newsletter.rank.embed import Encoder
from newsletter.rank.semantic import passages


def test_calls_hold_at_most_the_token_budget_and_every_text_once() -> None:
    lengths = np.array([3, 7, 7, 12, 40, 90, 256, 256, 5, 120, 256, 256, 256, 256])
    order = np.argsort(lengths, kind="stable")
    batches = embed._batches(lengths[order], order)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= embed._BATCH
        assert len(batch) == 1 or len(batch) * lengths[batch].max() <= embed._TOKENS
    # Budget 1024: the 8 texts up to 120 tokens share a call (8 x 120 = 960), texts of
    # 256 tokens go 4 at a time.
    assert (embed._BATCH, embed._TOKENS) == (64, 1024)
    assert [len(b) for b in batches] == [8, 4, 2]


def test_a_vector_is_the_same_bit_for_bit_whatever_the_batch(
    encoder: Encoder, seed: list[Paper], monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [t for paper in seed[:12] for t in passages(paper)]
    texts += ["test-time adaptation", "PEFT", "lifelong learning", "graph neural networks"]
    together = encoder._encode(texts)
    alone = np.vstack([encoder._encode([t]) for t in texts])
    assert together.shape == (len(texts), embed.DIMENSIONS)
    assert np.array_equal(together, alone)
    # The batching before the token budget (64 texts a call, whatever their length).
    monkeypatch.setattr(embed, "_TOKENS", 10**9)
    assert np.array_equal(encoder._encode(texts), together)
