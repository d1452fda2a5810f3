"""CPU cost of the semantic models issue 16 weighs, per passage, per phrase and per pair.

    .venv/bin/python bench/rank_model_cost.py [--rounds 3]   # CANDIDATES=/unpacked/wheel

Texts: the seed page's passages (title + abstract sentences, ``semantic.passages``) and
its topic phrases plus the HF 2026-08-18 keywords. Arms, interleaved each round, each on
a fresh model object (nothing remembered between rounds): ``minilm`` (the project's
``Encoder``), ``bge`` (bge-small-en-v1.5 int8, ``_candidates.bge``), and ``ce``
(ms-marco-MiniLM-L-12-v2 int8 over (phrase, title + abstract) pairs, 256 tokens at most).
CPU time (``time.process_time``, both cores count), median of the rounds; the load
average is printed with the figures. The scale line multiplies the pair cost out to issue
16 item 6's edition: 500 papers x 4,887 distinct phrases x the top-k re-ranked.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _candidates
from rank_eval import FIXTURES, SEED, SEED_TASKS, load_hf, load_seed

from newsletter.rank.embed import load_encoder
from newsletter.rank.semantic import passages


def main() -> None:
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    papers = load_seed(SEED)
    texts = [t for p in papers for t in passages(p)]
    hf = load_hf(FIXTURES / "hf_daily_papers_2026-08-18.json")
    phrases = sorted(
        {topic for _, topic, _ in SEED_TASKS} | {k.lower() for p in hf for k in p.ai_keywords}
    )
    docs = [f"{p.title.strip()}. {p.abstract.strip()}" for p in papers]
    pairs = [(phrases[i % len(phrases)], docs[i % len(docs)]) for i in range(200)]
    print(
        f"{len(texts)} passages of {len(papers)} papers, {len(phrases)} phrases, {len(pairs)} pairs"
    )
    cpu: dict[str, list[float]] = {}
    for _ in range(rounds):
        for arm in ("minilm", "bge", "ce"):
            if arm == "minilm":
                load_encoder.cache_clear()
                encoder = load_encoder()
                assert encoder is not None
                start = time.process_time()
                encoder.encode(texts)
                middle = time.process_time()
                encoder.encode(phrases)
            elif arm == "bge":
                bge = _candidates.bge()
                start = time.process_time()
                bge.encode(texts)
                middle = time.process_time()
                bge.encode_queries(phrases)
            else:
                ce = _candidates.cross_encoder()
                start = time.process_time()
                ce.score(pairs)
                middle = time.process_time()
            end = time.process_time()
            if arm == "ce":
                cpu.setdefault("ce pair", []).append((middle - start) / len(pairs))
            else:
                cpu.setdefault(f"{arm} passage", []).append((middle - start) / len(texts))
                cpu.setdefault(f"{arm} phrase", []).append((end - middle) / len(phrases))
    load = os.getloadavg()
    for name, values in cpu.items():
        print(f"{name:16s} {1000 * statistics.median(values):7.2f} ms CPU (median of {rounds})")
    pair = statistics.median(cpu["ce pair"])
    for k in (20, 30):
        total = 4887 * k * pair
        print(f"re-ranking top {k} for 4,887 phrases over 500 papers: {total:,.0f} s CPU")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
