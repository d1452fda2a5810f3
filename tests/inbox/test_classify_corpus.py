"""The classifier on the shared corpus of 290 real bounces, complaints and auto-replies
(../shared/fixtures/bounces, labels by others: sisimai's expected values).

Issue 15's targets: hard precision >= 0.95, hard recall >= 0.90, >= 95 % of failure reports
recognised as failures, every auto-reply recognised. Not all are reached; where not, the test
asserts the figure reached as a floor (so a change can only keep or improve it), and the
README's "Bounces" section states both. The rules were written looking at the ``dev`` half
only; ``held-out`` was measured once they were done.

Why the rest are missed (see the README): delay notices are warnings here (never scored, as
the issue asks) but labelled soft; a forwarded bounce is a person's message here; a few
labels count only the first of several recipients.
"""

from __future__ import annotations

import email
from email import policy

import pytest

from bench.bounce_eval import Case, Result, corpus_dir, evaluate, load, split
from newsletter.inbox.classify import classify
from tests.support.needs import need

TARGET_HARD_PRECISION = 0.95
TARGET_HARD_RECALL = 0.90
TARGET_RECOGNISED = 0.95

# Reached (floors): (hard precision, hard recall, failures recognised).
FLOORS = {
    "dev": (0.91, 0.91, 0.95),
    "held-out": (0.82, 0.89, 1.00),
    "all": (0.86, 0.90, 0.97),
}


@pytest.fixture(scope="module")
def halves() -> dict[str, list[Case]]:
    folder = corpus_dir()
    need((folder / "labels.json").is_file(), f"bounce corpus not found at {folder}")
    cases = load(folder)
    dev, held_out = split(cases)
    return {"dev": dev, "held-out": held_out, "all": cases}


@pytest.fixture(scope="module")
def results(halves: dict[str, list[Case]]) -> dict[str, Result]:
    return {name: evaluate(cases) for name, cases in halves.items()}


def test_the_corpus_and_its_halves_are_as_described(halves: dict[str, list[Case]]) -> None:
    assert len(halves["all"]) == 290
    assert len(halves["dev"]) == len(halves["held-out"]) == 145
    assert not {c.file for c in halves["dev"]} & {c.file for c in halves["held-out"]}


@pytest.mark.parametrize("half", ["dev", "held-out", "all"])
def test_hard_bounces_precision_recall_and_recognition_reach_their_floors(
    results: dict[str, Result], half: str
) -> None:
    result = results[half]
    precision, recall, recognised = FLOORS[half]
    print(f"\n{half}\n{result.table()}")
    assert result.precision("hard") >= precision
    assert result.recall("hard") >= recall
    assert result.failures_recognised() >= recognised


def test_the_recall_and_recognition_targets_hold_on_the_whole_corpus(
    results: dict[str, Result],
) -> None:
    result = results["all"]
    assert result.recall("hard") >= TARGET_HARD_RECALL
    assert result.failures_recognised() >= TARGET_RECOGNISED


def test_every_auto_reply_and_every_complaint_but_one_is_recognised(
    results: dict[str, Result],
) -> None:
    result = results["all"]
    assert result.recall("auto-reply") == 1.0
    assert result.count("complaint", "complaint") >= result.count("complaint") - 1
    assert result.precision("complaint") == 1.0


def test_nothing_that_did_not_fail_is_called_a_failure(results: dict[str, Result]) -> None:
    result = results["all"]
    assert result.count("not-a-failure", "hard") == result.count("not-a-failure", "soft") == 0
    assert result.count("auto-reply", "hard") == result.count("complaint", "hard") == 0


def test_the_inbox_processors_parsing_policy_gives_the_same_kinds(
    halves: dict[str, list[Case]],
) -> None:
    """The inbox parses with ``policy.default``; the corpus figures use ``compat32``."""
    for case in halves["all"]:
        raw = case.path.read_bytes()
        old = classify(email.message_from_bytes(raw, policy=policy.compat32))
        new = classify(email.message_from_bytes(raw, policy=policy.default))
        assert (new.kind, new.status, new.reason) == (old.kind, old.status, old.reason), case.file
