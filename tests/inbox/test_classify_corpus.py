"""The classifier on the shared corpus of 290 real bounces, complaints and auto-replies
(../shared/fixtures/bounces, labels by others: sisimai's expected values).

Issue 15's targets: hard precision >= 0.95, hard recall >= 0.90, >= 95 % of failure reports
recognised as failures, every auto-reply recognised. The figures reached are asserted as
floors (a change can only keep or improve them) on the fixed halves and on ten random halves
(seeds 1..10: the targets must hold on every one); the README's "Bounces" section states them.

The rules are sisimai's (its reason model, a few mail servers' notice formats and providers'
rules, ported as data), not written from these files; which notice formats to port was chosen
by the misses on the whole corpus, so the halves measure sampling spread, not servers never
seen (see the README for the figures of the general rules alone).

Why the rest are missed: delay notices are warnings here (never scored, as the issue asks) but
labelled soft; a bounce forwarded by a person is a person's message here. The issue's
"recognised" target is therefore asserted on the share of failure reports classified as hard,
soft or a delay warning (``reports_recognised``); the share classified as hard or soft alone
(``failures_recognised``: 0.951 on the whole corpus, 12 of its 13 misses delay warnings in
report or text form) has floors of its own.
"""

from __future__ import annotations

import email
from email import policy

import pytest

from bench.bounce_eval import (
    Case,
    Result,
    classify_file,
    corpus_dir,
    evaluate,
    label_of,
    load,
    split,
)
from newsletter.inbox.classify import classify
from tests.support.needs import need

TARGET_HARD_PRECISION = 0.95
TARGET_HARD_RECALL = 0.90
TARGET_RECOGNISED = 0.95

# Reached (floors): (hard precision, hard recall, failures recognised, reports recognised).
FLOORS = {
    "dev": (1.00, 0.97, 0.91, 0.99),
    "held-out": (1.00, 1.00, 0.98, 1.00),
    "all": (1.00, 0.98, 0.95, 0.99),
}
SEEDS = range(1, 11)


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
    precision, recall, recognised, reports = FLOORS[half]
    print(f"\n{half}\n{result.table()}")
    assert result.precision("hard") >= precision
    assert result.recall("hard") >= recall
    assert result.failures_recognised() >= recognised
    assert result.reports_recognised() >= reports


def test_the_targets_hold_on_the_whole_corpus(results: dict[str, Result]) -> None:
    result = results["all"]
    assert result.precision("hard") >= TARGET_HARD_PRECISION
    assert result.recall("hard") >= TARGET_HARD_RECALL
    assert result.reports_recognised() >= TARGET_RECOGNISED


def test_the_targets_hold_on_every_random_half(halves: dict[str, list[Case]]) -> None:
    got = {case.file: label_of(classify_file(case.path)) for case in halves["all"]}
    for seed in SEEDS:
        for half in split(halves["all"], seed):
            result = Result()
            for case in half:
                result.confusion[(case.expected, got[case.file])] += 1
            assert result.precision("hard") >= TARGET_HARD_PRECISION, seed
            assert result.recall("hard") >= TARGET_HARD_RECALL, seed
            assert result.reports_recognised() >= TARGET_RECOGNISED, seed


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
