"""Topic vectors cached when a topic is saved, so the daily run finds them (issue 16).

A topic's vector (``rank.embed``) costs about 2.5 ms of CPU here, whatever the batch:
the model's matrix products dominate (ONNX profile: 80 % MatMul). 100,000 readers carry
about 5,000 distinct phrases, so a run that meets them all new would spend some 13 s
embedding them. ``cache_topics`` embeds the phrases a reader has just saved (CLI ``add``,
``topics`` and ``import``, the web preferences form, a reply command) and stores them in
the topic cache (``store.embeddings``, m042), the table the run reads. An import embeds
all its new phrases in one call. Without the semantic extra it does nothing; a failure
is logged and never stops the save: the run embeds what is not cached.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable

from newsletter.rank.embed import DIMENSIONS, load_encoder
from newsletter.rank.sections import topic_key
from newsletter.store import embeddings as stored
from newsletter.store.db import Store

log = logging.getLogger(__name__)

# One caller at a time loads, uses and releases the process's encoder (web threads).
_LOCK = threading.Lock()


def cache_topics(store: Store, topics: Iterable[str], now: dt.datetime) -> int:
    """Embed and cache the topics (as written) whose phrase is not cached yet.

    Returns how many phrases were embedded (0 without the semantic extra). The model is
    released afterwards (``Encoder.release``: about 240 MB of RSS back), so a web worker
    does not keep it. Errors (database, runtime) are logged, never raised."""
    encoder = load_encoder()
    if encoder is None:
        return 0
    keys = [k for k in dict.fromkeys(topic_key(t) for t in topics) if k]
    keys = [k for k in keys if len(k) <= stored.MAX_PHRASE]
    if not keys:
        return 0
    model = encoder.model_id
    with _LOCK:
        try:
            with store.begin() as conn:
                known = stored.load_topics(conn, model, keys, DIMENSIONS)
            new = [k for k in keys if k not in known]
            if not new:
                return 0
            start = time.process_time()
            vectors = encoder.encode(new)
            with store.begin() as conn:
                stored.save_topics(conn, model, dict(zip(new, vectors, strict=True)), now)
            log.debug(
                "topics: %d new phrases embedded and cached in %.1f s of CPU",
                len(new),
                time.process_time() - start,
            )
            return len(new)
        except Exception as error:
            # Best effort, never a failed save: another writer may have cached the phrase
            # first (unique key, SQLAlchemyError), or onnxruntime failed (its errors derive
            # from Exception only). The run reads the cache, or embeds what it lacks.
            log.warning("topics: not cached now (%s); the run embeds them", str(error)[:200])
            return 0
        finally:
            encoder.release()
