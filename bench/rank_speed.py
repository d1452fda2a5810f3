"""Time and peak memory to rank one edition for many subscribers.

    .venv/bin/python bench/rank_speed.py                  # 500 papers x 100,000 subscribers x 3 topics
    .venv/bin/python bench/rank_speed.py --runs 5 --subscribers 20000 --pools zipf

Each run is a fresh subprocess (so peak RSS is that run's own); runs of the two topic
pools are interleaved (zipf, uniform, zipf, ...) and the report gives each pool's
median. Paper texts are sentences of the seed page (real abstracts) recombined; topics
are 2-3 word phrases drawn from a pool of 5,000 real title n-grams:

- ``zipf`` (the realistic case): a phrase's popularity falls as 1/rank, as interests
  do (a few topics such as "LLM agents" are chosen by many readers, most by few);
- ``uniform`` (the harsh case): every phrase equally likely, so nearly every
  subscriber's topic list is unique and topics rarely share their sections.

10% of subscribers have feedback, 10% exclusions, 5% categories, 5% followed authors.
``cpu_s`` is the ranking's CPU time: on a shared machine it shows how much of the wall
time was waiting for a core.

``--arms lexical,cold,warm`` (issue 16) interleaves the ranking arms: ``lexical`` (no
embeddings), ``cold`` (hybrid; every topic phrase embedded during the ranking, as on the
first day), ``warm`` (hybrid; topic vectors already known, as from the store's cache).
The papers' passage vectors are computed once per edition, before ranking (stored with
the edition): ``paper_embed_s`` reports that time where it was measured (they are kept in
$RANK_SPEED_VECTORS, default /tmp, across runs).

Wall time and CPU time (issue 16, item 6: "within 10 s on this 2-core machine"):
``wall_s`` is the Ranker's build plus the ranking (the topics embedded in the cold arm
included), ``all_cpu_s`` their CPU time in this process *and* its forked children
(``forked.map_forked``: ranking and embedding share the cores). ``--workers 1`` is the
one-process path. Memory is polled from /proc every 50 ms over the run's process tree:
``peak_rss_sum_mb`` adds the RSS of every process (a page a forked child shares with its
parent counts twice), ``peak_pss_sum_mb`` the PSS (a shared page split between the
processes that map it: the memory really used), ``peak_rss_one_mb`` the largest process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._proc import memory_kb, process_tree  # noqa: E402

SEED = Path(
    os.environ.get("NEWSLETTER_SEED", REPO.parent / "shared" / "seed" / "000_63cfe2aa0ef4d944.txt")
)


def corpus_text() -> tuple[list[str], list[str]]:
    if SEED.is_file():
        lines = [x for x in SEED.read_text(encoding="utf-8").splitlines() if x.strip()]
        start = lines.index("Jul 29") + 1 if "Jul 29" in lines else 0
        titles, abstracts = lines[start::2], lines[start + 1 :: 2]
    else:  # a synthetic vocabulary, so the script runs anywhere
        rng = random.Random(1)
        words = [f"w{i}" for i in range(3000)]
        titles = [" ".join(rng.choices(words, k=8)) for _ in range(80)]
        abstracts = [
            ". ".join(" ".join(rng.choices(words, k=20)) for _ in range(8)) for _ in range(80)
        ]
    return titles, abstracts


def workload(  # type: ignore[no-untyped-def]
    n_papers: int, n_subscribers: int, n_topics: int, pool: int, dist: str, seed: int = 0
):
    from newsletter.models import Feedback, Paper, Profile

    rng = random.Random(seed)
    titles, abstracts = corpus_text()
    sentences = [s.strip() for a in abstracts for s in re.split(r"(?<=\.)\s+", a) if len(s) > 20]
    title_words = [w for t in titles for w in t.split() if len(w) > 3]
    cats = ["cs.LG", "cs.CL", "cs.CV", "cs.RO", "cs.AI", "stat.ML"]
    papers = [
        Paper(
            arxiv_id=f"2601.{i:05d}",
            title=" ".join(rng.sample(title_words, 8)),
            abstract=" ".join(rng.sample(sentences, 6)),
            authors=tuple(f"Author {rng.randrange(2000)}" for _ in range(4)),
            categories=tuple(rng.sample(cats, 2)),
            upvotes=rng.choice([None, 0, 1, 2, 5, 12, 40, 120]),
        )
        for i in range(n_papers)
    ]
    grams = []
    for t in titles:
        words = [w for w in re.findall(r"[A-Za-z][\w-]+", t)]
        grams += [" ".join(words[i : i + n]) for n in (2, 3) for i in range(len(words) - n + 1)]
    phrases = rng.sample(sorted(set(grams)), min(pool, len(set(grams))))
    while len(phrases) < pool:
        phrases.append(" ".join(rng.sample(title_words, rng.choice((2, 3)))))
    weights = [1 / (rank + 1) for rank in range(len(phrases))] if dist == "zipf" else None

    def topics() -> tuple[str, ...]:
        if weights is None:
            return tuple(rng.sample(phrases, n_topics))
        chosen: dict[str, None] = {}
        while len(chosen) < min(n_topics, len(phrases)):
            chosen.update(dict.fromkeys(rng.choices(phrases, weights, k=n_topics - len(chosen))))
        return tuple(chosen)

    profiles = []
    feedback = []
    for _ in range(n_subscribers):
        profiles.append(
            Profile(
                topics=topics(),
                categories=(rng.choice(cats),) if rng.random() < 0.05 else (),
                authors=(f"Author {rng.randrange(2000)}",) if rng.random() < 0.05 else (),
                exclude=(rng.choice(title_words),) if rng.random() < 0.10 else (),
            )
        )
        if rng.random() < 0.10:
            feedback.append(
                [
                    Feedback(0, rng.choice(papers), rng.choice((1, -1)), NOW)
                    for _ in range(rng.randint(1, 3))
                ]
            )
        else:
            feedback.append([])
    return papers, profiles, feedback


def children_cpu_s() -> float:
    """CPU seconds of this process's exited children (the forked rankers and encoders)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def paper_vectors(papers, arm: str) -> tuple[object, float]:  # type: ignore[no-untyped-def]
    """The papers' passage vectors (from the disk cache when there), and the seconds it
    took to compute them (0 when read)."""
    import numpy as np

    from newsletter.rank.embed import load_encoder
    from newsletter.rank.semantic import PaperVectors

    cache = Path(os.environ.get("RANK_SPEED_VECTORS", "/tmp")) / f"rank_speed_{len(papers)}.npz"
    if cache.exists():
        data = np.load(cache)
        texts = tuple(str(t) for t in data["texts"])
        return PaperVectors(data["vectors"], texts, data["starts"]), 0.0
    encoder = load_encoder()
    assert encoder is not None, "the semantic extra is not installed"
    start = time.perf_counter()
    cpu = time.process_time()
    built = PaperVectors.build(papers, encoder.encode)
    took = time.perf_counter() - start
    print(
        f"paper passages: {len(built.texts)} embedded in {took:.1f} s "
        f"({time.process_time() - cpu:.1f} s CPU)",
        file=sys.stderr,
    )
    np.savez(cache, vectors=built.vectors, texts=np.asarray(built.texts), starts=built.starts)
    return built, took


class _Known:
    """Embeddings whose paper vectors are given and topics come from the encoder."""

    def __init__(self, vectors: object, workers: int | None) -> None:
        from newsletter.rank.embed import load_encoder

        self.vectors = vectors
        self.encoder = load_encoder()
        if workers is not None:
            self.encoder.workers = workers  # type: ignore[union-attr]
        self.embedded = 0
        self.embed_cpu_s = 0.0

    def papers(self, papers):  # type: ignore[no-untyped-def]
        return self.vectors

    def topics(self, phrases):  # type: ignore[no-untyped-def]
        start, done = time.process_time(), self.encoder.texts_encoded  # type: ignore[union-attr]
        forked = children_cpu_s()
        vectors = self.encoder.encode(phrases)  # type: ignore[union-attr]
        self.embed_cpu_s += time.process_time() - start + children_cpu_s() - forked
        self.embedded += self.encoder.texts_encoded - done  # type: ignore[union-attr]
        return vectors


def one_run(args: argparse.Namespace, dist: str, arm: str = "lexical") -> dict[str, float]:
    from newsletter.rank import Ranker

    papers, profiles, feedback = workload(
        args.papers, args.subscribers, args.topics, args.pool, dist
    )
    embeddings = None
    embed_s = 0.0
    if arm != "lexical":
        vectors, embed_s = paper_vectors(papers, arm)
        embeddings = _Known(vectors, args.workers)
        if arm == "warm":  # every topic already known (the store's topic cache)
            from newsletter.rank.sections import topic_key

            keys = sorted({topic_key(t) for p in profiles for t in p.topics})
            embeddings.encoder.encode(keys)  # type: ignore[union-attr]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    forked = children_cpu_s()
    t0 = time.perf_counter()
    c0 = time.process_time()
    # (without --workers the call runs on main's code too: PYTHONPATH=<main's checkout>)
    more = {} if args.workers is None else {"workers": args.workers}
    ranker = Ranker(papers, embeddings=embeddings, **more)  # type: ignore[arg-type]
    t1 = time.perf_counter()
    c1 = time.process_time()
    results = ranker.rank_many(profiles, feedback)
    t2 = time.perf_counter()
    c2 = time.process_time()
    children = children_cpu_s() - forked
    assert len(results) == len(profiles)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stats = ranker.stats
    return {
        "build_s": t1 - t0,
        "rank_s": t2 - t1,
        "total_s": t2 - t0,
        "cpu_s": c2 - c1,
        "build_cpu_s": c1 - c0,
        "wall_s": t2 - t0,
        "children_cpu_s": children,
        "all_cpu_s": c2 - c0 + children,
        "peak_rss_mb": peak / 1024,
        "workload_rss_mb": before / 1024,
        "items": float(sum(len(s.items) for r in results for s in r)),
        "distinct_profiles": float(stats["distinct"]),
        "distinct_topics": float(len(ranker.topics.ids)),
        "fallback_rows": float(stats["dense"]),
        "load_1min": os.getloadavg()[0],
        "paper_embed_s": embed_s,
        # cold: the phrases embedded during the ranking, and the CPU they took (in this
        # process and the forked ones: part of all_cpu_s)
        "topics_embedded": float(embeddings.embedded if embeddings else 0),
        "topic_embed_cpu_s": embeddings.embed_cpu_s if embeddings else 0.0,
    }


def measured(cmd: list[str]) -> dict[str, float]:
    """One run in a subprocess, its memory polled over its process tree every 50 ms."""
    child = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rss_sum = pss_sum = rss_one = 0
    while child.poll() is None:
        sizes = [memory_kb(p) for p in process_tree(child.pid)]
        rss_sum = max(rss_sum, sum(r for r, _ in sizes))
        pss_sum = max(pss_sum, sum(p for _, p in sizes))
        rss_one = max(rss_one, *(r for r, _ in sizes))
        time.sleep(0.05)
    out, err = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"run failed ({child.returncode}):\n{err.decode()}")
    row: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    row["peak_rss_sum_mb"] = rss_sum / 1024
    row["peak_pss_sum_mb"] = pss_sum / 1024
    row["peak_rss_one_mb"] = rss_one / 1024
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=500)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--topics", type=int, default=3)
    parser.add_argument("--pool", type=int, default=5000, help="distinct topic phrases")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pools", default="zipf,uniform", help="zipf, uniform or both")
    parser.add_argument("--arms", default="lexical", help="lexical, cold, warm (comma list)")
    parser.add_argument(
        "--workers", type=int, help="processes for ranking and embedding (default: the cores)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        dist, _, arm = args.child.partition(":")
        print(json.dumps(one_run(args, dist, arm or "lexical")))
        return
    pools = [p.strip() for p in args.pools.split(",") if p.strip()]
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    keys = [f"{p}:{a}" for p in pools for a in arms]
    rows: dict[str, list[dict[str, float]]] = {k: [] for k in keys}
    for i in range(args.runs):
        for dist in keys:
            cmd = [sys.executable, __file__, *sys.argv[1:], "--child", dist]
            rows[dist].append(measured(cmd))
            shown = ", ".join(f"{k}={v:.2f}" for k, v in rows[dist][-1].items())
            print(f"run {i + 1} {dist}: {shown}", flush=True)
    for dist in keys:
        print(
            f"\n{dist}: {args.papers} papers x {args.subscribers:,} subscribers x {args.topics} "
            f"topics (pool {args.pool:,} phrases), median of {args.runs} runs:"
        )
        for key in rows[dist][0]:
            print(f"  {key:18s} {statistics.median(r[key] for r in rows[dist]):10.2f}")


if __name__ == "__main__":
    main()
