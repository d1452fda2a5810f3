"""Parse speed of each source on the real captured responses (median of interleaved runs).

    .venv/bin/python bench/sources_parse.py [--rounds 15]

Reads ../shared/fixtures/real (or $NEWSLETTER_FIXTURES). Prints, per file, the median
milliseconds per parse and papers per second, plus the peak memory of one parse.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from newsletter.models import Paper
from newsletter.sources import arxiv_api, arxiv_rss, hf_daily, sample

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("NEWSLETTER_FIXTURES", ROOT.parent / "shared" / "fixtures" / "real"))


def cases() -> list[tuple[str, Callable[[bytes], list[Paper]], bytes]]:
    found: list[tuple[str, Callable[[bytes], list[Paper]], bytes]] = [
        ("sample_day.json", sample.parse, sample.read())
    ]
    for path in sorted(FIXTURES.glob("*")):
        parser = (
            hf_daily.parse
            if path.name.startswith("hf_daily")
            else arxiv_rss.parse
            if path.name.startswith("arxiv_rss")
            else arxiv_api.parse
            if path.name.startswith("arxiv_api")
            else None
        )
        if parser is not None:
            found.append((path.name, parser, path.read_bytes()))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    todo = cases()
    times: dict[str, list[float]] = {name: [] for name, _, _ in todo}
    for _ in range(args.rounds):  # interleaved: each round parses every file once
        for name, parse, raw in todo:
            start = time.perf_counter()
            parse(raw)
            times[name].append(time.perf_counter() - start)
    print(f"{'file':50} {'KB':>6} {'papers':>6} {'median ms':>10} {'papers/s':>9} {'peak KB':>8}")
    for name, parse, raw in todo:
        tracemalloc.start()
        count = len(parse(raw))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        median = statistics.median(times[name])
        rate = count / median if median else 0.0
        print(
            f"{name:50} {len(raw) / 1024:6.0f} {count:6d} {median * 1000:10.2f} "
            f"{rate:9.0f} {peak / 1024:8.0f}"
        )


if __name__ == "__main__":
    main()
