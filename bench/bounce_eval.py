"""The bounce classifier on the shared labelled corpus: confusion table, precision, recall.

    .venv/bin/python -m bench.bounce_eval [--half dev|held-out|all] [--errors]

NEWSLETTER_FIXTURES moves the folder (the corpus is ../bounces next to it). The halves are
those of ``tests/inbox/bounce_corpus.py`` (a fixed seed): rules were developed on ``dev``.
"""

from __future__ import annotations

import argparse

from tests.inbox.bounce_corpus import corpus_dir, evaluate, load, split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("dev", "held-out", "all"), default="all")
    parser.add_argument("--errors", action="store_true", help="list the misclassified files")
    args = parser.parse_args()
    cases = load(corpus_dir())
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
