"""Render CPU per email of two checkouts of the project, interleaved (issue 18): the
``ranked`` workload of ``bench/render_speed.py`` (readers with 1-3 topics of the send
bench's pool, ranked beforehand, not timed) on the default (assembled) path, each round a
new edition, in a fresh process per checkout and round so that each imports its own code.

    .venv/bin/python bench/render_trees.py /work/main /work/render --readers 6000 --rounds 3

Prints each run's CPU per email (``time.process_time``) and the load average, then the
medians and their ratio (second / first). The readers are ranked once, by the first
checkout, and pickled for every run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import dataclasses, datetime as dt, pickle, sys, time
from pathlib import Path
root, readers_file, fixtures, edition_id = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
sys.path.insert(0, root)
from bench._support import LARGEST_DAY, RENDER_NOW, edition_of, hf_day
from newsletter.config import Settings
from newsletter.links import Links
from newsletter.render import Renderer
from newsletter.tokens import Signer
settings = Settings(_env_file=None, base_url="https://papers.example.org")
links = Links(settings.base_url, Signer.from_secrets("bench"), "papers@example.org")
base = edition_of(hf_day(fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
if readers_file.endswith(".new"):
    from bench.render_speed import readers
    count = int(sys.argv[5])
    with open(readers_file[:-4], "wb") as out:
        pickle.dump(readers(base, "ranked", count, settings), out)
    raise SystemExit(0)
with open(readers_file, "rb") as f:
    batch = pickle.load(f)
renderer = Renderer(settings, links)
edition = dataclasses.replace(base, id=edition_id)
start = time.process_time()
for reader, sections in batch:
    renderer.digest(edition, reader, sections, now=RENDER_NOW)
print((time.process_time() - start) / len(batch))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trees", nargs=2, type=Path, help="two checkouts: before, after")
    parser.add_argument("--readers", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=3)
    default = Path(__file__).resolve().parents[2] / "shared/fixtures/real"
    parser.add_argument("--fixtures", type=Path, default=default)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        readers = Path(work) / "readers.pickle"
        run = [sys.executable, "-c", CHILD]
        first = str(args.trees[0])
        subprocess.run(
            [*run, first, f"{readers}.new", str(args.fixtures), "0", str(args.readers)],
            check=True,
        )
        times: dict[Path, list[float]] = {tree: [] for tree in args.trees}
        for round_no in range(args.rounds):
            order = args.trees if round_no % 2 == 0 else args.trees[::-1]
            for tree in order:
                done = subprocess.run(
                    [*run, str(tree), str(readers), str(args.fixtures), str(round_no + 1)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                seconds = float(done.stdout.strip().splitlines()[-1])
                times[tree].append(seconds)
                load = " ".join(f"{x:.1f}" for x in os.getloadavg())
                print(f"round {round_no + 1} {tree}: {seconds * 1000:.3f} ms/email (load {load})")
    medians = [statistics.median(times[tree]) for tree in args.trees]
    for tree, median in zip(args.trees, medians, strict=True):
        print(f"{tree}: median {median * 1000:.3f} ms CPU per email")
    print(f"ratio {medians[1] / medians[0]:.2f} ({args.readers} readers, {args.rounds} rounds)")


if __name__ == "__main__":
    main()
