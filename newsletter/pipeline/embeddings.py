"""Embeddings kept in the store: an edition's paper vectors once, topic vectors by phrase.

``stored_embeddings(store, edition, now)`` is the ``rank.hybrid.Embeddings`` of the daily
run: the edition's passage vectors are computed the first time the edition is ranked and
stored with it (``store.embeddings``, m041); a topic's vector is computed once per phrase
and model, ever (m042). ``None`` when the semantic extra is not installed: ranking is then
lexical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from newsletter.models import Edition, Paper
from newsletter.rank.embed import DIMENSIONS, Encoder, load_encoder
from newsletter.rank.sections import topic_key
from newsletter.rank.semantic import PaperVectors, passages
from newsletter.store import editions
from newsletter.store import embeddings as stored
from newsletter.store.db import Store

log = logging.getLogger(__name__)


def fingerprint(papers: Sequence[Paper]) -> str:
    """sha256 of the papers' passages, in order: stored vectors are reused only for these."""
    digest = hashlib.sha256()
    for paper in papers:
        for text in passages(paper):
            digest.update(text.encode("utf-8"))
            digest.update(b"\x1e")
        digest.update(b"\x1d")
    return digest.hexdigest()


class StoredEmbeddings:
    """``rank.hybrid.Embeddings`` backed by the store, for one edition."""

    def __init__(self, store: Store, edition: Edition, encoder: Encoder, now: dt.datetime):
        self.store = store
        self.edition = edition
        self.encoder = encoder
        self.now = now
        # Only a stored edition (a real run) writes; a dry run's edition changes nothing.
        with store.begin() as conn:
            self.writes = bool(edition.id) and editions.get(conn, edition.id) is not None
        self._built: tuple[str, PaperVectors] | None = None
        self._started: tuple[str, float, Future[PaperVectors]] | None = None
        self._topics: dict[str, np.ndarray] = {}

    def start(self, papers: Sequence[Paper]) -> bool:
        """Begin embedding ``papers``' passages in a background thread when the store does
        not have their vectors; ``papers()`` (so ``prepare``) waits for them and stores
        them. The caller's thread meanwhile does the run's other work before the send
        (templates, the archive page, the queue: about 1 s at 20,000 readers) on the other
        core: onnxruntime and the tokenizer release the GIL while they compute. Whether it
        started. Not when the encoder would fork children for them (``Encoder.forks``: a
        day of about 50 papers or more), which it does only from the caller's thread: a
        child forked from this thread could inherit a lock the other thread holds."""
        digest = fingerprint(papers)
        if self._started is not None or self._loaded(digest) is not None:
            return False
        if self.encoder.forks(sum(len(passages(p)) for p in papers)):
            return False
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        future = pool.submit(PaperVectors.build, papers, self.encoder.encode)
        pool.shutdown(wait=False)  # its one thread ends with the work
        self._started = (digest, time.perf_counter(), future)
        return True

    def _loaded(self, digest: str) -> PaperVectors | None:
        """The vectors built or read for ``digest``, reading the store once."""
        if self._built is not None and self._built[0] == digest:
            return self._built[1]
        with self.store.begin() as conn:
            found = stored.load_papers(
                conn, self.edition.id, self.encoder.model_id, digest, DIMENSIONS
            )
        if found is None:
            return None
        vectors, texts, starts = found
        loaded = PaperVectors(vectors, tuple(texts), np.asarray(starts, dtype=np.int64))
        self._built = (digest, loaded)
        return loaded

    def prepare(self, papers: Sequence[Paper], topics: Iterable[str]) -> None:
        """Embed up front what a send needs, then release the model.

        ``papers``: the edition's; ``topics``: the readers' topics as written (keyed as the
        ranker keys them, ``rank.sections.topic_key``). Their vectors are computed (or read
        from the store) and kept; the ONNX session (about 50 MB of RSS, more while it
        runs) is dropped before the first email, so a send of any size holds only the
        vectors. A topic the send meets later (a reader who changed topics meanwhile)
        loads the model again."""
        self.papers(papers)
        keys = [k for k in dict.fromkeys(topic_key(t) for t in topics) if k]
        self.topics(keys)
        self.encoder.release()

    def papers(self, papers: Sequence[Paper]) -> PaperVectors:
        """The stored vectors when they were made from these papers, else computed and
        stored (an edition not in the store, as in a dry run, is computed, not stored)."""
        digest = fingerprint(papers)
        started, self._started = self._started, None
        if started is not None and started[0] == digest:
            start = started[1]
            built = started[2].result()  # re-raises what the thread raised
        else:
            if started is not None:  # other papers: wait, so the encoder is not shared
                started[2].result()
            loaded = self._loaded(digest)
            if loaded is not None:
                return loaded
            start = time.perf_counter()
            built = PaperVectors.build(papers, self.encoder.encode)
        model = self.encoder.model_id
        log.info(
            "embedded %d papers (%d passages) in %.1f s",
            len(papers),
            len(built.texts),
            time.perf_counter() - start,
        )
        if self.writes:
            with self.store.begin() as conn:
                stored.save_papers(
                    conn,
                    self.edition.id,
                    model,
                    digest,
                    built.vectors,
                    built.texts,
                    built.starts.tolist(),
                    self.now,
                )
        self._built = (digest, built)
        return built

    def topics(self, phrases: Sequence[str]) -> np.ndarray:
        """Cached vectors by phrase; the others are embedded now and cached."""
        if self._started is not None:  # the encoder is busy with the papers: wait
            self._started[2].result()
        model = self.encoder.model_id
        known = {p: self._topics[p] for p in phrases if p in self._topics}
        unseen = [p for p in dict.fromkeys(phrases) if p not in known]
        if unseen:
            with self.store.begin() as conn:
                known.update(stored.load_topics(conn, model, unseen, DIMENSIONS))
        new = [p for p in dict.fromkeys(phrases) if p not in known]
        if new:
            fresh = dict(zip(new, self.encoder.encode(new), strict=True))
            if self.writes:
                with self.store.begin() as conn:
                    stored.save_topics(conn, model, fresh, self.now)
            known.update(fresh)
        self._topics.update(known)
        out = np.zeros((len(phrases), DIMENSIONS), dtype=np.float32)
        for row, phrase in enumerate(phrases):
            out[row] = known[phrase]
        return out


def stored_embeddings(store: Store, edition: Edition, now: dt.datetime) -> StoredEmbeddings | None:
    """The store-backed embeddings of ``edition``, or ``None`` without the semantic extra."""
    encoder = load_encoder()
    if encoder is None:
        log.info("ranking: lexical only (the semantic extra is not installed)")
        return None
    log.info("ranking: hybrid, embeddings from %s", encoder.model_id)
    return StoredEmbeddings(store, edition, encoder, now)
