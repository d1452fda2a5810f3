"""The fast path (top candidates per topic, bulk assembly) against the full computation.

``Ranker(..., fast_path=False)`` scores every paper under every topic of every row and
assembles each email one by one: the reference. The fast path must give equal results
on any profile, and must actually take both of its branches (exact on candidates, and
the fallback to the full computation) in these tests.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from newsletter.models import Feedback, Paper, Profile
from newsletter.rank import Ranker
from newsletter.rank.sections import best_first
from tests.rank.papers import CLUSTERS, paper, synthetic

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
EXTRA = ["quantum", "graph", "Adaptation", "LoRA"]
WORDS = [*sorted({w for text in CLUSTERS.values() for w in text.split()}), *EXTRA]
CATEGORIES = ["cs.LG", "cs.CV", "cs.RO", "stat.ME", "cs.CL"]


def random_profiles(rng: random.Random, n: int) -> list[Profile]:
    def phrase() -> str:
        words = rng.sample(WORDS, rng.choice((1, 1, 2, 2, 3)))
        return rng.choice((" ", "  ")).join(words)

    profiles: list[Profile] = []
    for _ in range(n):
        if profiles and rng.random() < 0.15:  # identical profiles are common
            profiles.append(rng.choice(profiles))
            continue
        profiles.append(
            Profile(
                topics=tuple(phrase() for _ in range(rng.choice((0, 1, 2, 3, 3, 4)))),
                categories=tuple(rng.sample(CATEGORIES, 1)) if rng.random() < 0.2 else (),
                authors=(f"Author {rng.randrange(40)}",) if rng.random() < 0.15 else (),
                exclude=(rng.choice(WORDS),) if rng.random() < 0.2 else (),
            )
        )
    return profiles


def random_feedback(rng: random.Random, papers: list[Paper], n: int) -> list[list[Feedback]]:
    return [
        [Feedback(1, rng.choice(papers), rng.choice((1, -1)), NOW)] if rng.random() < 0.1 else []
        for _ in range(n)
    ]


@pytest.mark.parametrize(
    ("n_papers", "max_per_topic", "candidates", "floor", "seed"),
    [
        (300, 5, None, 0.15, 1),
        (300, 3, 4, 0.15, 2),  # tiny candidate lists: many rows fall back
        (120, 2, 3, 0.0, 3),
        (40, 5, 6, 0.3, 4),
    ],
)
def test_fast_path_equals_full_computation_on_random_profiles(
    n_papers: int, max_per_topic: int, candidates: int | None, floor: float, seed: int
) -> None:
    rng = random.Random(seed)
    edition = synthetic(n_papers, seed=seed)
    profiles = random_profiles(rng, 400)
    signals = random_feedback(rng, edition, len(profiles))
    options = {"max_per_topic": max_per_topic, "floor": floor, "also_today": 3}
    fast = Ranker(edition, candidates=candidates, chunk_size=64, **options)
    full = Ranker(edition, fast_path=False, **options)
    got = fast.rank_many(profiles, signals)
    assert got == full.rank_many(profiles, signals)
    # Both branches of the fast path ran: rows decided on candidates, and fallbacks.
    stats = fast.stats
    assert stats["bulk"] > 0 and stats["dense"] > 0
    assert stats["distinct"] - stats["dense"] - stats["feedback"] > 0
    assert full.stats["bulk"] == 0
    # One at a time (a chunk of one row) gives the same as in bulk.
    for i in range(0, len(profiles), 37):
        assert fast.rank(profiles[i], signals[i]) == got[i]


def test_a_paper_belongs_to_its_best_topic_even_when_cut_from_its_candidates() -> None:
    """Paper "p" matches "alpha beta delta" with more evidence than "gamma", but 25 papers
    beat it there (more than the 20 candidates kept for that topic): it must appear under
    neither topic, as the full computation says, not slip into "gamma"."""
    filler = " ".join(f"word{i}" for i in range(30))
    edition = [paper("t", "Alpha beta delta", "Alpha beta delta.")]
    edition += [paper(f"t{i}", f"Alpha beta delta study {i}", f"{filler} n{i}.") for i in range(25)]
    edition.append(
        paper("p", "Something else", f"Alpha beta delta. {filler} {'gamma ' * 5}{filler}.")
    )
    edition += [
        paper(f"g{i}", f"Filler {i}", f"{filler} gamma {filler} {filler}.") for i in range(3)
    ]
    edition += [paper(f"h{i}", f"Other {i}", f"{filler} {filler}.") for i in range(200)]
    profile = Profile(topics=("alpha beta delta", "gamma"))
    fast = Ranker(edition, max_per_topic=1)
    assert fast.n_candidates == 20
    # The premise: p matches gamma best of all gamma papers, and alpha beta delta well.
    alone = fast.rank(Profile(topics=("gamma",)))[0]
    assert [i.paper.arxiv_id for i in alone.items] == ["p"]
    sections = fast.rank(profile)
    topics = {s.title: [i.paper.arxiv_id for i in s.items] for s in sections if s.topic}
    assert topics == {"alpha beta delta": ["t"], "gamma": ["g0"]}
    assert sections == Ranker(edition, max_per_topic=1, fast_path=False).rank(profile)


def test_fallback_when_the_candidates_run_out() -> None:
    """The topic's only candidates are by followed authors (so they leave the topic
    section): the row is redone on all papers, and the section still fills up."""
    edition = synthetic(200)
    ranker = Ranker(edition, max_per_topic=3, candidates=3)
    top = ranker.rank(Profile(topics=("adaptation",)))[0].items
    followed = tuple(dict.fromkeys(i.paper.authors[0] for i in top))
    profile = Profile(topics=("adaptation",), authors=followed)
    before = ranker.stats["dense"]
    sections = ranker.rank(profile)
    assert ranker.stats["dense"] == before + 1
    assert sections == Ranker(edition, max_per_topic=3, fast_path=False).rank(profile)
    assert sections[0].title == "Followed authors"
    assert sections[1].title == "adaptation" and len(sections[1].items) == 3
    assert not {i.paper for i in top} & {i.paper for i in sections[1].items}


def test_best_first_is_the_head_of_the_stable_full_sort() -> None:
    rng = np.random.default_rng(5)
    score = rng.integers(0, 6, size=(7, 200)).astype(np.float64) / 4  # many ties
    full = np.argsort(-score, axis=1, kind="stable").tolist()
    for n in (0, 1, 5, 37, 199, 200, 250):
        assert best_first(score, n) == [row[:n] for row in full]
