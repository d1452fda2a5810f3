"""Ranking quality on real captured feeds, against labels nobody on the project wrote.

    .venv/bin/python bench/rank_eval.py        # NEWSLETTER_FIXTURES overrides the folder

(a) arXiv categories: the topic is a category's name ("Methodology"); relevant papers are
    those listed in a category of that name (both cs.LG and stat.ML are "Machine Learning").
    Corpus: the stat RSS feed (123 papers). Categories with at least 3 papers.
(b) Hugging Face ``ai_keywords``: the topic is a keyword; relevant papers are those tagged
    with it. Corpora: the HF files that carry ai_keywords. Every keyword (RANK_EVAL_MIN_TAGGED=2: only those on 2+ papers).
    "stripped" re-runs (b) with every occurrence of the keyword removed from all texts.

Systems: ours (the Ranker's topic score + popularity prior, i.e. its order before the
floor and sections), ours without the category-name field (ablation), plain BM25 over
the abstract (lower-cased word tokens, no stemming, k1=1.2, b=0.75), and the HF upvote
order (feed order where there are no upvotes). Metrics: nDCG@5 and P@5, binary relevance.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import feedparser
import numpy as np

from newsletter.models import Paper
from newsletter.rank import Ranker, Weights
from newsletter.rank.taxonomy import CATEGORY_NAMES

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("NEWSLETTER_FIXTURES", REPO.parent / "shared" / "fixtures" / "real"))
SEED = Path(os.environ.get("NEWSLETTER_SEED", REPO.parent / "shared" / "seed"))
K = 5
MIN_TAGGED = int(os.environ.get("RANK_EVAL_MIN_TAGGED", "1"))
System = Callable[[Sequence[Paper], str], list[int]]
# RANK_EVAL_COVERAGE=0.8 runs every "ours" arm with that coverage gate (Weights.coverage).
# RANK_EVAL_GENERIC=1.0 turns the distinctive-word rule off (Weights.generic).
WEIGHTS = Weights(
    coverage=float(os.environ.get("RANK_EVAL_COVERAGE", Weights().coverage)),
    generic=float(os.environ.get("RANK_EVAL_GENERIC", Weights().generic)),
)


def load_rss(path: Path) -> list[Paper]:
    feed = feedparser.parse(path.read_bytes())
    out = []
    for e in feed.entries:
        abstract = e.get("description", "").split("Abstract:", 1)[-1].strip()
        out.append(
            Paper(
                arxiv_id=e.link.rsplit("/", 1)[-1],
                title=e.title,
                abstract=abstract,
                authors=tuple(a.strip() for a in e.get("author", "").split(",") if a.strip()),
                categories=tuple(t.term for t in e.get("tags", [])),
            )
        )
    return out


def load_hf(path: Path) -> list[Paper]:
    out = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        p = item["paper"]
        out.append(
            Paper(
                arxiv_id=p["id"],
                title=p["title"],
                abstract=p.get("summary", ""),
                authors=tuple(a.get("name", "") for a in p.get("authors", [])),
                upvotes=p.get("upvotes"),
                ai_keywords=tuple(p.get("ai_keywords") or ()),
            )
        )
    return out


def ours(weights: Weights = WEIGHTS) -> System:
    # One Ranker per corpus (the unstripped tasks share a day's papers): same scores.
    built: dict[int, tuple[Sequence[Paper], Ranker]] = {}

    def run(papers: Sequence[Paper], topic: str) -> list[int]:
        if id(papers) not in built:
            built.clear()
            built[id(papers)] = (papers, Ranker(papers, weights=weights))
        ranker = built[id(papers)][1]
        key = ranker.corpus.topic_scores([topic])[0] + ranker.prior
        return np.argsort(-key, kind="stable").tolist()

    return run


def bm25_abstract(papers: Sequence[Paper], topic: str) -> list[int]:
    docs = [re.findall(r"[a-z0-9]+", p.abstract.lower()) for p in papers]
    n = len(docs)
    avg = sum(map(len, docs)) / max(n, 1)
    df = Counter(w for d in docs for w in set(d))
    query = re.findall(r"[a-z0-9]+", topic.lower())
    scores = []
    for d in docs:
        tf = Counter(d)
        s = 0.0
        for w in query:
            if tf[w]:
                idf = math.log1p((n - df[w] + 0.5) / (df[w] + 0.5))
                s += idf * tf[w] * 2.2 / (tf[w] + 1.2 * (0.25 + 0.75 * len(d) / avg))
        scores.append(s)
    return sorted(range(n), key=lambda i: -scores[i])


def upvotes(papers: Sequence[Paper], topic: str) -> list[int]:
    return sorted(range(len(papers)), key=lambda i: -(papers[i].upvotes or 0))


def metrics(order: list[int], relevant: set[int]) -> tuple[float, float]:
    top = order[:K]
    dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(top) if i in relevant)
    ideal = sum(1 / math.log2(r + 2) for r in range(min(K, len(relevant))))
    return dcg / ideal, sum(i in relevant for i in top) / K


def strip(papers: Sequence[Paper], phrase: str) -> list[Paper]:
    pattern = re.compile(re.escape(phrase), re.IGNORECASE)
    return [
        Paper(
            p.arxiv_id,
            pattern.sub(" ", p.title),
            pattern.sub(" ", p.abstract),
            p.authors,
            p.categories,
            upvotes=p.upvotes,
        )
        for p in papers
    ]


SYSTEMS: dict[str, System] = {
    "ours": ours(),
    "ours-nocat": ours(Weights(category=0.0, coverage=WEIGHTS.coverage, generic=WEIGHTS.generic)),
    "bm25-abs": bm25_abstract,
    "upvotes": upvotes,
}


def evaluate(name: str, tasks: list[tuple[Sequence[Paper], str, set[int]]]) -> None:
    print(f"\n## {name}: {len(tasks)} topics")
    print(f"{'topic':38s} {'rel':>3s} " + " ".join(f"{s:>17s}" for s in SYSTEMS))
    totals = {s: [0.0, 0.0] for s in SYSTEMS}
    for papers, topic, relevant in tasks:
        cells = []
        for s, system in SYSTEMS.items():
            ndcg, prec = metrics(system(papers, topic), relevant)
            totals[s][0] += ndcg
            totals[s][1] += prec
            cells.append(f"{ndcg:8.3f} {prec:8.2f}")
        print(f"{topic[:38]:38s} {len(relevant):3d} " + " ".join(cells))
    n = max(len(tasks), 1)
    print(
        f"{'MEAN nDCG@5 / P@5':42s} "
        + " ".join(f"{t[0] / n:8.3f} {t[1] / n:8.2f}" for t in totals.values())
    )


def load_seed(folder: Path) -> list[Paper]:
    """The seed page's 82 papers: after a 6-line header, title and abstract lines alternate."""
    path = next(iter(sorted(folder.glob("000_*.txt"))))
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    body = lines[6:]
    return [
        Paper(arxiv_id=f"seed{i:03d}", title=title, abstract=abstract)
        for i, (title, abstract) in enumerate(zip(body[::2], body[1::2], strict=False))
    ]


# Seed-page tasks: (kind, topic as a reader writes it, pattern of the relevant papers).
# Labels are surface patterns over title + abstract, written before any run, and none is
# the topic itself for synonym, acronym and typo tasks.
_CL = r"continual|lifelong"
_PEFT = r"parameter[- ]efficient|\bPEFT\b|\bLoRA\b|low[- ]rank adaptation"
_TTA = r"test[- ]time adaptation|\bTTA\b"
SEED_TASKS: list[tuple[str, str, str]] = [
    ("keyword", "continual learning", _CL),
    ("keyword", "test-time adaptation", _TTA),
    ("keyword", "parameter-efficient fine-tuning", _PEFT),
    ("synonym", "lifelong learning", _CL),
    ("synonym", "incremental learning", _CL),
    ("acronym", "PEFT", _PEFT),
    ("acronym", "TTA", _TTA),
    ("acronym", "CL", _CL),
    ("typo", "contiual learning", _CL),
    ("typo", "test-time adaptaion", _TTA),
    ("typo", "parameter-eficient fine-tuning", _PEFT),
    ("none", "reinforcement learning from human feedback", r"human feedback|\bRLHF\b"),
    ("none", "survival analysis", r"survival"),
    ("none", "quantum query complexity", r"quantum"),
]


def seed_eval(papers: Sequence[Paper]) -> None:
    """Each seed topic as a one-topic profile through the real Ranker (floor and all):
    P@5 of its section (over min(5, relevant)), the number shown, and the typo flag."""
    from newsletter.models import Profile
    from newsletter.rank.suggest import Vocabulary

    ranker = Ranker(papers, weights=WEIGHTS)
    vocabulary = Vocabulary.from_papers(papers)
    print(f"\n## (c) seed page, {len(papers)} papers, one topic per reader")
    print(f"{'kind':8s} {'topic':44s} {'rel':>3s} {'shown':>5s} {'P@5':>5s}  did you mean")
    by_kind: dict[str, list[float]] = {}
    for kind, topic, pattern in SEED_TASKS:
        regex = re.compile(pattern, re.IGNORECASE)
        relevant = {p.arxiv_id for p in papers if regex.search(f"{p.title} {p.abstract}")}
        sections = ranker.rank(Profile(topics=(topic,), categories=(), authors=()))
        shown = [item.paper.arxiv_id for item in sections[0].items]
        if kind == "none":
            value = float(len(shown) == 0)
        else:
            value = sum(a in relevant for a in shown[:K]) / max(1, min(K, len(relevant)))
        by_kind.setdefault(kind, []).append(value)
        hint = vocabulary.suggest(topic) or ""
        print(f"{kind:8s} {topic[:44]:44s} {len(relevant):3d} {len(shown):5d} {value:5.2f}  {hint}")
    print("MEAN by kind (P@5; for 'none' the share of topics that show nothing):")
    for kind, values in by_kind.items():
        print(f"  {kind:8s} {sum(values) / len(values):.2f} over {len(values)}")


# The outside tester's 18 one-topic readers (issue 16 re-test), run on each real day.
TESTER_TOPICS = (
    "test-time adaptation",
    "TTA",
    "continual learning",
    "lifelong learning",
    "reinforcement learning from human feedback",
    "RLHF",
    "machine translation",
    "reward model",
    "video generation",
    "survival analysis",
    "protein folding",
    "PEFT",
    "LLM",
    "RAG",
    "robot learning",
    "diffusion models",
    "federated learning",
    "time series forecasting",
)
# Correctly spelled topics that must not get a "did you mean" (tester's F2 list).
NOT_TYPOS = (
    *TESTER_TOPICS,
    "graph neural networks",
    "speech recognition",
    "robot grasping",
    "data selection",
    "autonomous driving",
)
_REASON = re.compile(r"matches “(.*?)”(?: as “(.*?)”)?( \(whole phrase(?: in title)?\))?: (.*)")


def _flat(text: str) -> str:
    return re.sub(r"[\s\-‐]+", " ", text.lower())


def _literally(text: str, word: str) -> bool:
    """The tester's check (``verify.py``): the word, as a whole word, hyphens as spaces."""
    pattern = r"(?<![a-z0-9])" + re.escape(_flat(word)) + r"(?![a-z0-9])"
    return re.search(pattern, _flat(text)) is not None


def claim_eval(days: list[tuple[str, list[Paper]]]) -> None:
    """Each "X in title/abstract" claim of the reasons for the tester's topics, checked
    against the paper's text (the outside tester's ``verify.py`` rule), and the typo
    hints given for correctly spelled topics."""
    from newsletter.models import Profile
    from newsletter.rank.suggest import Vocabulary

    print("\n## (d) reasons checked literally, tester's 18 topics; hints for correct topics")
    print(f"{'day':24s} {'items':>5s} {'claims':>6s} {'false':>5s}  hints on correct topics")
    all_papers = [p for _, papers in days for p in papers]
    vocabulary = Vocabulary.from_papers(all_papers)
    for day, papers in days:
        ranker = Ranker(papers, weights=WEIGHTS)
        items = claims = false = 0
        bad: list[str] = []
        for topic in TESTER_TOPICS:
            sections = ranker.rank(Profile(topics=(topic,), categories=(), authors=()))
            for item in sections[0].items:
                items += 1
                if os.environ.get("RANK_EVAL_SHOW"):
                    print(f"    {topic} | {item.paper.title[:60]} | {item.reason[:150]}")
                found = _REASON.match(item.reason)
                if not found:
                    continue
                for part in found.group(4).split("; "):
                    where = re.match(r"(.*) in (title|abstract)$", part)
                    if not where:
                        continue
                    text = item.paper.title if where.group(2) == "title" else item.paper.abstract
                    for word in where.group(1).split(", "):
                        claims += 1
                        if not _literally(text, word):
                            false += 1
                            bad.append(f"{topic}: {word} in {where.group(2)}")
        day_vocab = Vocabulary.from_papers(papers)
        hints = [f"{t}->{h}" for t in NOT_TYPOS if (h := day_vocab.suggest(t))]
        print(f"{day:24s} {items:5d} {claims:6d} {false:5d}  {'; '.join(hints)}")
        for line in bad[:8]:
            print(f"    false: {line}")
    hints = [f"{t}->{h}" for t in NOT_TYPOS if (h := vocabulary.suggest(t))]
    print(f"hints against all days' vocabulary: {'; '.join(hints) or 'none'}")


def main() -> None:
    seed = load_seed(SEED)
    seed_eval(seed)
    days = [("seed page", seed)]
    days += [(p.stem[-10:], load_hf(p)) for p in sorted(FIXTURES.glob("hf_daily_papers_*.json"))]
    claim_eval(days)
    if os.environ.get("RANK_EVAL_ONLY") == "claims":
        return
    rss = load_rss(FIXTURES / "arxiv_rss_stat_2024-03-26.xml")
    by_name: dict[str, set[str]] = {}
    for code, name in CATEGORY_NAMES.items():
        by_name.setdefault(name, set()).add(code)
    tasks = []
    for name, codes in sorted(by_name.items()):
        relevant = {i for i, p in enumerate(rss) if codes & set(p.categories)}
        if len(relevant) >= 3:
            tasks.append((rss, name, relevant))
    evaluate("(a) arXiv category names, stat RSS 2024-03-26", tasks)

    kw_tasks = []
    stripped_tasks = []
    for path in sorted(FIXTURES.glob("hf_daily_papers_*.json")):
        papers = load_hf(path)
        tagged: dict[str, set[int]] = {}
        for i, p in enumerate(papers):
            for kw in p.ai_keywords:
                tagged.setdefault(kw.lower(), set()).add(i)
        for kw, relevant in sorted(tagged.items()):
            if len(relevant) >= MIN_TAGGED:
                kw_tasks.append((papers, kw, relevant))
                stripped_tasks.append((strip(papers, kw), kw, relevant))
    evaluate("(b) HF ai_keywords", kw_tasks)
    evaluate("(b, stripped) HF ai_keywords, keyword text removed", stripped_tasks)


if __name__ == "__main__":
    main()
