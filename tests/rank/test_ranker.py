from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from newsletter.errors import SettingsError
from newsletter.models import Feedback, Paper, Profile, Section
from newsletter.rank import Ranker
from tests.rank.papers import paper, synthetic

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)

EDITION = [
    paper(
        "1",
        "Test-Time Adaptation for Vision Transformers",
        "We adapt models at test time under distribution shift.",
        upvotes=3,
    ),
    paper(
        "2",
        "A Survey of Test-Time Adaptation",
        "We review test-time adaptation methods and benchmarks.",
        upvotes=50,
    ),
    paper(
        "3",
        "LoRA Fine-Tuning at Scale",
        "Low-rank adapters make fine-tuning of language models cheap.",
        upvotes=10,
    ),
    paper(
        "4",
        "Dexterous Robot Manipulation from Human Videos",
        "A policy for robot manipulation learned from videos.",
        categories=("cs.RO",),
    ),
    paper(
        "5",
        "Protein Folding with Graph Networks",
        "We predict protein structure. The data manipulation pipeline is described in the appendix, together with many details about folding, proteins, graphs, training, evaluation and structure prediction.",
        upvotes=80,
    ),
]


def ids(sections: tuple[Section, ...]) -> list[str]:
    return [item.paper.arxiv_id for s in sections for item in s.items]


def section(sections: tuple[Section, ...], title: str) -> Section:
    return next(s for s in sections if s.title == title)


def feedback(p: Paper, signal: int) -> Feedback:
    return Feedback(subscriber_id=1, paper=p, signal=signal, created_at=NOW)


def test_one_section_per_topic_best_first_then_also_today() -> None:
    sections = Ranker(EDITION).rank(Profile(topics=("test-time adaptation", "LoRA fine-tuning")))
    assert [s.title for s in sections] == ["test-time adaptation", "LoRA fine-tuning", "Also today"]
    tta = section(sections, "test-time adaptation")
    assert {i.paper.arxiv_id for i in tta.items} == {"1", "2"}
    assert [i.score for i in tta.items] == sorted((i.score for i in tta.items), reverse=True)
    assert all(i.topic == "test-time adaptation" for i in tta.items)
    assert [i.paper.arxiv_id for i in section(sections, "LoRA fine-tuning").items] == ["3"]
    also = section(sections, "Also today")
    assert [i.paper.arxiv_id for i in also.items] == ["5", "4"]  # by upvotes, then the rest


def test_exclusions_exclude_everywhere() -> None:
    ranker = Ranker(EDITION)
    topics = ("test-time adaptation",)
    assert "2" in ids(ranker.rank(Profile(topics=topics)))
    excluded = ranker.rank(Profile(topics=topics, exclude=("survey",)))
    assert "2" not in ids(excluded)
    assert "1" in ids(excluded)
    no_protein = ranker.rank(Profile(topics=topics, exclude=("protein folding",)))
    assert "5" not in ids(no_protein)
    assert "5" not in ids(ranker.rank(Profile(exclude=("protein folding",))))


def test_a_paper_appears_once_in_its_best_matching_section() -> None:
    ranker = Ranker(EDITION)
    both = ranker.rank(Profile(topics=("adaptation", "test-time adaptation", "robot")))
    shown = ids(both)
    assert len(shown) == len(set(shown))
    alone = ranker.rank(Profile(topics=("adaptation",)))[0]
    assert {"1", "2"} <= {i.paper.arxiv_id for i in alone.items}
    # Both match "adaptation" fully, but "test-time adaptation" with more evidence: they go there.
    assert {i.paper.arxiv_id for i in section(both, "test-time adaptation").items} == {"1", "2"}
    assert not {"1", "2"} & {i.paper.arxiv_id for i in section(both, "adaptation").items}


def test_floor_drops_an_unrelated_paper_and_empty_topic_says_so() -> None:
    topics = ("robot manipulation",)
    loose = Ranker(EDITION, floor=0.0).rank(Profile(topics=topics))
    assert "5" in [
        i.paper.arxiv_id for i in loose[0].items
    ]  # "manipulation" once, deep in the text
    strict = Ranker(EDITION).rank(Profile(topics=topics))
    assert [i.paper.arxiv_id for i in strict[0].items] == ["4"]
    empty = Ranker(EDITION).rank(Profile(topics=("quantum gravity",)))[0]
    assert (empty.items, empty.empty_note) == ((), "Nothing on quantum gravity today.")


def test_explanation_names_the_matched_terms_and_where() -> None:
    sections = Ranker(EDITION).rank(
        Profile(topics=("Test-Time adaptation", "robot human", "robot grasping"))
    )
    first = sections[0].items[0]
    assert first.matched_terms == ("Test-Time", "adaptation")
    assert "matches “Test-Time adaptation”" in first.reason
    assert "Test-Time, adaptation in title" in first.reason
    robot = sections[1].items[0]
    assert robot.matched_terms == ("robot", "human")
    assert robot.reason == "matches “robot human”: robot, human in title"
    # "grasping" is in no paper: matching "robot" alone is not enough (issue 16).
    assert sections[2].items == ()


def test_empty_profile_gets_top_papers_by_upvotes_never_an_empty_email() -> None:
    sections = Ranker(EDITION, max_per_topic=2, also_today=1).rank(Profile())
    assert [s.title for s in sections] == ["Top papers today"]
    assert [i.paper.arxiv_id for i in sections[0].items] == ["5", "2", "3"]
    assert "80 upvotes" in sections[0].items[0].reason
    nothing = Ranker([]).rank(Profile())
    assert nothing[0].items == () and nothing[0].empty_note == "No papers today."


def test_categories_and_followed_authors_get_sections() -> None:
    edition = [
        *EDITION,
        paper(
            "6",
            "Legged Locomotion",
            "Walking robots.",
            categories=("cs.RO",),
            authors=("José Núñez",),
        ),
    ]
    profile = Profile(
        topics=("robot manipulation",), categories=("cs.RO",), authors=("jose nunez",)
    )
    sections = Ranker(edition).rank(profile)
    assert [s.title for s in sections][:3] == [
        "Followed authors",
        "robot manipulation",
        "Robotics (cs.RO)",
    ]
    assert [i.paper.arxiv_id for i in sections[0].items] == ["6"]
    assert sections[0].items[0].reason == "by José Núñez, whom you follow"
    assert [i.paper.arxiv_id for i in sections[1].items] == ["4"]
    robotics = section(sections, "Robotics (cs.RO)")
    assert robotics.items == () and robotics.empty_note == "Nothing in Robotics (cs.RO) today."


def test_popularity_never_beats_a_real_relevance_difference() -> None:
    edition = [
        paper("a", "Diffusion", "Sampling.", upvotes=5000),
        paper("b", "Score-based diffusion sampling", "Diffusion sampling with scores.", upvotes=0),
        paper("c", "Score-based diffusion sampling", "Diffusion sampling with scores.", upvotes=40),
    ]
    items = (
        Ranker(edition, floor=0.0)
        .rank(Profile(topics=("score-based diffusion sampling",)))[0]
        .items
    )
    assert [i.paper.arxiv_id for i in items] == ["c", "b", "a"]  # equal text: upvotes break the tie


def test_feedback_moves_neighbours_of_liked_up_and_of_disliked_down() -> None:
    edition = synthetic(60)
    ranker = Ranker(edition, max_per_topic=50, also_today=0, floor=0.0)
    profile = Profile(topics=("adaptation",))
    liked = paper(
        "x1",
        "LoRA low-rank adapters for language model fine-tuning",
        "Parameter-efficient low-rank decomposition.",
    )
    disliked = paper(
        "x2",
        "Test-time adaptation under distribution shift",
        "Entropy minimisation on the target domain, online.",
    )

    def position(sections: tuple[Section, ...], cluster_word: str) -> float:
        order = [i.paper for i in sections[0].items]
        ranks = [r for r, p in enumerate(order) if cluster_word in (p.title + p.abstract).lower()]
        return sum(ranks) / len(ranks)

    base, with_feedback = ranker.rank_many(
        [profile, profile], [[], [feedback(liked, 1), feedback(disliked, -1)]]
    )
    assert base == ranker.rank(profile)  # the other subscriber is not affected
    assert position(with_feedback, "lora") < position(base, "lora")
    assert position(with_feedback, "entropy") > position(base, "entropy")


def test_a_later_signal_on_the_same_paper_wins() -> None:
    ranker = Ranker(EDITION, floor=0.0)
    profile = Profile(topics=("adaptation",))
    up = feedback(EDITION[0], 1)
    down = dataclasses.replace(feedback(EDITION[0], -1), created_at=NOW + dt.timedelta(hours=1))
    assert ranker.rank(profile, [down, up]) == ranker.rank(profile, [down])
    assert ranker.rank(profile, [down, up]) != ranker.rank(profile, [up])


PROFILES = [
    Profile(),
    Profile(topics=("test-time adaptation",)),
    Profile(topics=("LoRA fine-tuning", "robot manipulation", "diffusion sampling")),
    Profile(
        topics=("bayesian inference",), categories=("stat.ME", "cs.RO"), exclude=("bootstrap",)
    ),
    Profile(topics=("robot policy",), authors=("Author 3", "Writer 10")),
    Profile(exclude=("diffusion",)),
    Profile(topics=("test-time adaptation",)),
    Profile(topics=("quantum gravity", "low-rank adaptation")),
]


@pytest.mark.parametrize("n_papers", [5, 1000])
def test_rank_many_equals_rank_for_each_profile(n_papers: int) -> None:
    edition = synthetic(n_papers)
    liked = [[], [feedback(edition[1], 1)], [], [feedback(edition[0], -1), feedback(edition[2], 1)]]
    signals = [liked[i % len(liked)] for i in range(len(PROFILES))]
    many = Ranker(edition, chunk_size=3).rank_many(PROFILES, signals)
    one = Ranker(edition)
    assert many == [one.rank(p, s) for p, s in zip(PROFILES, signals, strict=True)]


@pytest.mark.parametrize("n_papers", [5, 1000])
def test_sections_are_well_formed_for_small_and_large_editions(n_papers: int) -> None:
    edition = synthetic(n_papers)
    ranker = Ranker(edition, max_per_topic=4, also_today=3)
    for sections in ranker.rank_many(PROFILES):
        shown = ids(sections)
        assert len(shown) == len(set(shown))
        assert sections and any(s.items for s in sections)
        for s in sections:
            assert len(s.items) <= (7 if s.title == "Top papers today" else 4)
            assert [i.score for i in s.items] == sorted((i.score for i in s.items), reverse=True)
            assert bool(s.items) != bool(s.empty_note)
            if s.topic:
                assert all(i.score >= 0.15 and i.matched_terms for i in s.items)
    big = ranker.rank(Profile(topics=("test-time adaptation",)))[0].items
    assert len(big) == min(4, len(edition[::5]))  # every fifth synthetic paper is on TTA


def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(SettingsError, match="MAX_PER_TOPIC"):
        Ranker(EDITION, max_per_topic=0)
    with pytest.raises(SettingsError, match="RELEVANCE_FLOOR"):
        Ranker(EDITION, floor=1.5)


def test_seed_page_brings_test_time_adaptation_papers_first(seed_page: Path) -> None:
    lines = [line for line in seed_page.read_text(encoding="utf-8").splitlines() if line.strip()]
    start = lines.index("Jul 29") + 1
    pairs = list(zip(lines[start::2], lines[start + 1 :: 2], strict=False))
    edition = [paper(f"seed{i}", t, a) for i, (t, a) in enumerate(pairs)]
    assert len(edition) == 82
    items = Ranker(edition).rank(Profile(topics=("test-time adaptation",)))[0].items
    assert len(items) == 5
    for item in items:
        title = item.paper.title.lower().replace("-", " ")
        assert "test time" in title and "adapt" in title, item.paper.title
