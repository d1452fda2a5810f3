"""The bounce classifier on the shared labelled corpus: confusion table, precision, recall.

    .venv/bin/python -m bench.bounce_eval [--half dev|held-out|all] [--errors]
    .venv/bin/python -m bench.bounce_eval --seeds 10     # the spread over 10 random halves
    .venv/bin/python -m bench.bounce_eval --general      # the general rules alone

The corpus: ../shared/fixtures/bounces (290 real bounces, complaints and auto-replies; labels
by others, sisimai's expected values: hard, soft, complaint, auto-reply, not-a-failure).
NEWSLETTER_FIXTURES moves it (the corpus is ../bounces next to the real fixtures).
The classifier's kinds map onto the labels one to one, except that ``warning``, ``reply`` and
``other`` all mean "not a failure".

The split: the files, sorted by name, are shuffled with ``random.Random(15)``; the first half
(``dev``) is the one the first rules were developed on, the second (``held-out``) was measured.
``--seeds N`` repeats that with seeds 1..N and prints, for each half, the lowest, median and
highest hard precision, hard recall and share of failures recognised, so a figure says how
much it depends on which files happen to be in a half.
``--general`` turns the per-server readers off (``lhosts.hints`` and ``lhosts_text.hints``
say nothing, ``rhosts``
names no provider): what is left are the general rules (RFC 3464 reports, sisimai's reason
model, the generic notice rules of ``classify/notice.py``), the better guide to mail servers
that no ported reader covers.
``tests/inbox/test_classify_corpus.py`` asserts the figures with the same functions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.inbox.classify import Classification, classify, lhosts, lhosts_text
from newsletter.inbox.classify import reasons as classify_reasons
from newsletter.inbox.classify.excerpt import parse

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("NEWSLETTER_FIXTURES", REPO.parent / "shared" / "fixtures" / "real"))

LABELS = ("hard", "soft", "complaint", "auto-reply", "not-a-failure")
# A delay warning (still queued: a warning, never scored, as the issue asks); sisimai's labels
# call those notices soft. A column of its own, never a label.
DELAY = "delay-warning"
SEED = 15


def corpus_dir() -> Path:
    """../shared/fixtures/bounces, next to the real fixtures (NEWSLETTER_FIXTURES moves both)."""
    return FIXTURES.parent / "bounces"


@dataclass(frozen=True)
class Case:
    file: str
    expected: str
    path: Path


def load(folder: Path) -> list[Case]:
    labels = json.loads((folder / "labels.json").read_text())
    return [Case(x["file"], x["expected"], folder / x["file"]) for x in labels]


def split(cases: list[Case], seed: int = SEED) -> tuple[list[Case], list[Case]]:
    """(dev, held-out): halves of the corpus by ``seed``."""
    ordered = sorted(cases, key=lambda c: c.file)
    random.Random(seed).shuffle(ordered)
    half = len(ordered) // 2
    return ordered[:half], ordered[half:]


def label_of(result: Classification) -> str:
    if result.kind == "warning" and result.reason == "delayed":
        return DELAY
    if result.kind in ("warning", "reply", "other"):
        return "not-a-failure"
    return result.kind


def classify_file(path: Path) -> Classification:
    return classify(parse(path.read_bytes()))


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

    def reports_recognised(self) -> float:
        """Share of failure reports classified as hard, soft or a delay warning: the issue
        asks for delay notices to be warnings, which sisimai's labels call soft."""
        failures = self.count("hard") + self.count("soft")
        got = ("hard", "soft", DELAY)
        recognised = sum(self.count(e, g) for e in ("hard", "soft") for g in got)
        return recognised / failures if failures else 1.0

    def table(self) -> str:
        width = max(len(label) for label in LABELS) + 2
        columns = (*LABELS, DELAY)
        head = "expected \\ got".ljust(16) + "".join(g.rjust(width) for g in columns)
        rows = [head]
        for e in LABELS:
            cells = "".join(str(self.confusion[(e, g)]).rjust(width) for g in columns)
            rows.append(e.ljust(16) + cells)
        rows.append("")
        for label in LABELS:
            rows.append(
                f"{label:<14} precision {self.precision(label):.3f}  recall {self.recall(label):.3f}"
                f"  (n={self.count(expected=label)})"
            )
        rows.append(f"failure reports recognised as failures: {self.failures_recognised():.3f}")
        rows.append(
            f"failure reports recognised as failures or delay warnings: "
            f"{self.reports_recognised():.3f}"
        )
        return "\n".join(rows)


def evaluate(cases: list[Case]) -> Result:
    result = Result()
    for case in cases:
        got = classify_file(case.path)
        result.confusion[(case.expected, label_of(got))] += 1
        if label_of(got) != case.expected:
            result.errors.append((case, got))
    return result


def spread(cases: list[Case], seeds: int) -> str:
    """Lowest / median / highest figures of each half over ``seeds`` random splits."""
    got = {case.file: label_of(classify_file(case.path)) for case in cases}
    rows = []
    for half in (0, 1):
        figures: list[tuple[float, float, float, float]] = []
        for seed in range(1, seeds + 1):
            result = Result()
            for case in split(cases, seed)[half]:
                result.confusion[(case.expected, got[case.file])] += 1
            figures.append(
                (
                    result.precision("hard"),
                    result.recall("hard"),
                    result.failures_recognised(),
                    result.reports_recognised(),
                )
            )
        cells = []
        names = ("hard precision", "hard recall", "recognised", "or delay warning")
        for index, name in enumerate(names):
            values = sorted(f[index] for f in figures)
            cells.append(
                f"{name} {values[0]:.3f} / {statistics.median(values):.3f} / {values[-1]:.3f}"
            )
        rows.append(f"half {'AB'[half]} (min / median / max): " + ";  ".join(cells))
    return f"{seeds} random halves of {len(cases)} files, seeds 1..{seeds}\n" + "\n".join(rows)


@contextlib.contextmanager
def general_rules_only() -> Iterator[None]:
    """Within the block, the per-server readers say nothing (``lhosts.hints``,
    ``rhosts.rhost_reason``)."""
    saved = lhosts.hints, lhosts_text.hints, classify_reasons.rhost_reason
    lhosts.hints = lambda *_args: lhosts.Hints()  # type: ignore[assignment]
    lhosts_text.hints = lambda *_args: None  # type: ignore[assignment]
    classify_reasons.rhost_reason = lambda *_args: ""  # type: ignore[assignment]
    try:
        yield
    finally:
        lhosts.hints, lhosts_text.hints, classify_reasons.rhost_reason = saved  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("dev", "held-out", "all"), default="all")
    parser.add_argument("--errors", action="store_true", help="list the misclassified files")
    parser.add_argument("--seeds", type=int, default=0, help="spread over N random halves")
    parser.add_argument("--general", action="store_true", help="the general rules alone")
    args = parser.parse_args()
    with general_rules_only() if args.general else contextlib.nullcontext():
        report(args)


def report(args: argparse.Namespace) -> None:
    cases = load(corpus_dir())
    if args.seeds:
        print(spread(cases, args.seeds))
        return
    dev, held_out = split(cases)
    halves = {"dev": dev, "held-out": held_out, "all": cases}
    names = ("dev", "held-out", "all") if args.half == "all" else (args.half,)
    for name in names:
        result = evaluate(halves[name])
        print(f"== {name}: {len(halves[name])} files")
        print(result.table())
        if args.errors:
            for case, got in result.errors:
                print(
                    f"  {case.file}: expected {case.expected}, got {got.kind} "
                    f"({got.status or '-'} {got.reason or '-'})"
                )
        print()


if __name__ == "__main__":
    main()
