"""The shared bounce corpus (../shared/fixtures/bounces) and the classifier's figures on it.

Used by ``tests/inbox/test_classify_corpus.py`` (targets asserted) and
``bench/bounce_eval.py`` (the confusion table for the README).

Labels (``labels.json``, written by others: sisimai's expected values) are hard, soft,
complaint, auto-reply, not-a-failure. The classifier's kinds map onto them one to one,
except that ``warning``, ``reply`` and ``other`` all mean "not a failure".

The split: the files, sorted by name, are shuffled with ``random.Random(15)``; the first
half (``dev``) is the one the rules were developed on, the second (``held-out``) was only
measured.
"""

from __future__ import annotations

import email
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from pathlib import Path

from newsletter.inbox.classify import Classification, classify
from tests.conftest import fixtures_dir

LABELS = ("hard", "soft", "complaint", "auto-reply", "not-a-failure")
SEED = 15


def corpus_dir() -> Path:
    """../shared/fixtures/bounces, next to the real fixtures (NEWSLETTER_FIXTURES moves both)."""
    return fixtures_dir().parent / "bounces"


@dataclass(frozen=True)
class Case:
    file: str
    expected: str
    path: Path


def load(folder: Path) -> list[Case]:
    labels = json.loads((folder / "labels.json").read_text())
    return [Case(x["file"], x["expected"], folder / x["file"]) for x in labels]


def split(cases: list[Case]) -> tuple[list[Case], list[Case]]:
    """(dev, held-out): halves of the corpus by a fixed seed."""
    ordered = sorted(cases, key=lambda c: c.file)
    random.Random(SEED).shuffle(ordered)
    half = len(ordered) // 2
    return ordered[:half], ordered[half:]


def label_of(result: Classification) -> str:
    if result.kind in ("warning", "reply", "other"):
        return "not-a-failure"
    return result.kind


def classify_file(path: Path) -> Classification:
    return classify(email.message_from_bytes(path.read_bytes(), policy=policy.compat32))


@dataclass
class Result:
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[tuple[Case, Classification]] = field(default_factory=list)

    def count(self, expected: str | None = None, got: str | None = None) -> int:
        return sum(
            n
            for (e, g), n in self.confusion.items()
            if (expected is None or e == expected) and (got is None or g == got)
        )

    def precision(self, label: str) -> float:
        called = self.count(got=label)
        return self.count(label, label) / called if called else 1.0

    def recall(self, label: str) -> float:
        actual = self.count(expected=label)
        return self.count(label, label) / actual if actual else 1.0

    def failures_recognised(self) -> float:
        """Share of failure reports (labelled hard or soft) classified as hard or soft."""
        failures = self.count("hard") + self.count("soft")
        recognised = sum(self.count(e, g) for e in ("hard", "soft") for g in ("hard", "soft"))
        return recognised / failures if failures else 1.0

    def table(self) -> str:
        width = max(len(label) for label in LABELS) + 2
        head = "expected \\ got".ljust(16) + "".join(g.rjust(width) for g in LABELS)
        rows = [head]
        for e in LABELS:
            cells = "".join(str(self.confusion[(e, g)]).rjust(width) for g in LABELS)
            rows.append(e.ljust(16) + cells)
        rows.append("")
        for label in LABELS:
            rows.append(
                f"{label:<14} precision {self.precision(label):.3f}  recall {self.recall(label):.3f}"
                f"  (n={self.count(expected=label)})"
            )
        rows.append(f"failure reports recognised as failures: {self.failures_recognised():.3f}")
        return "\n".join(rows)


def evaluate(cases: list[Case]) -> Result:
    result = Result()
    for case in cases:
        got = classify_file(case.path)
        result.confusion[(case.expected, label_of(got))] += 1
        if label_of(got) != case.expected:
            result.errors.append((case, got))
    return result
