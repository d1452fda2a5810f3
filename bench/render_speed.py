"""Render speed: the plain path (Jinja renders every email whole) against the assembled one
(paper cards rendered once per edition, ``render.assemble``), CPU per email; and, as the
"before" arm, the plain path with a signed token per feedback link (the emails before
issue 18: two signatures per paper instead of one edition token per email).

    .venv/bin/python bench/render_speed.py [--fixtures DIR] [--rounds 7] [--emails 400]
    valgrind --tool=callgrind .venv/bin/python bench/render_speed.py --count N

``--count N`` renders N digests of ``--workload`` ("all" by default: no ranking, whose
ONNX embedding valgrind makes slow) on the default (assembled) path and nothing else,
for an instruction count that the machine's load does not change: run it under callgrind
with two values of N and divide the difference of the totals by the difference of N.

Two workloads on the largest real fixture day (29 papers):

- **all**: every reader gets all 29 papers in 3 sections (the largest email a normal
  day gives);
- **ranked**: readers with 1-3 topics from the send bench's pool, ranked by the project's
  ranker beforehand (ranking is not timed), as ``newsletter run`` renders them.

Each round renders ``--emails`` digests per arm, the arms interleaved (order rotated every
round), each round a new edition (so the assembled arm builds its cards and checks its
first digest against the whole render, as every edition does). It prints the median CPU
time per email of each arm, the ratio, the rounds, and the load average. Both arms' bytes
are compared on every email of the first round.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import LARGEST_DAY, RENDER_NOW, edition_of, hf_day, sections_by_topic
from bench.send_arms import TOPIC_POOL
from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Edition, Profile, Section, Subscriber
from newsletter.personalize import make_ranker
from newsletter.render import Renderer
from newsletter.tokens import Signer


@dataclasses.dataclass(frozen=True)
class PerPaperLinks(Links):
    """Feedback links as before issue 18: ``Links.feedback``, one signature per link (the
    reader of the email being rendered is remembered when its edition token is asked)."""

    reading: list[Subscriber] = dataclasses.field(default_factory=list)

    def edition_token(self, subscriber: Subscriber, date: dt.date) -> str:
        self.reading[:] = [subscriber]
        return "unused"

    def feedback_url(self, edition_token: str, arxiv_id: str, signal: int) -> str:
        return self.feedback(self.reading[0], arxiv_id, signal)


def readers(
    edition: Edition, workload: str, count: int, settings: Settings
) -> list[tuple[Subscriber, tuple[Section, ...]]]:
    """``count`` readers and their sections for ``workload`` ("all" or "ranked")."""
    rng = random.Random(7)
    out = []
    if workload == "all":
        topics = ("multimodal agents", "image generation", "benchmarks")
        sections = sections_by_topic(list(edition.papers), topics)
        for sid in range(1, count + 1):
            reader = Subscriber(
                sid, f"r{sid}@example.com", profile=Profile(topics), token_nonce="n"
            )
            out.append((reader, sections))
        return out
    ranker = make_ranker(settings, edition.papers)
    profiles = [
        Profile(tuple(sorted(rng.sample(TOPIC_POOL, rng.randint(1, 3))))) for _ in range(count)
    ]
    ranked = ranker.rank_many(profiles, [[] for _ in profiles])
    for sid, (profile, sections) in enumerate(zip(profiles, ranked, strict=True), start=1):
        reader = Subscriber(sid, f"r{sid}@example.com", profile=profile, token_nonce=f"n{sid}")
        out.append((reader, tuple(sections)))
    return out


def cpu_per_email(
    renderer: Renderer, edition: Edition, batch: list[tuple[Subscriber, tuple[Section, ...]]]
) -> tuple[float, list[bytes]]:
    start = time.process_time()
    data = [renderer.digest(edition, r, s, now=RENDER_NOW).data for r, s in batch]
    return (time.process_time() - start) / len(batch), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = Path(__file__).resolve().parents[2] / "shared/fixtures/real"
    parser.add_argument("--fixtures", type=Path, default=default)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--emails", type=int, default=400)
    parser.add_argument("--count", type=int, default=0, help="only render N digests")
    parser.add_argument("--workload", choices=("all", "ranked"), default="all")
    args = parser.parse_args()
    settings = Settings(_env_file=None, base_url="https://papers.example.org")
    links = Links(settings.base_url, Signer.from_secrets("bench"), "papers@example.org")
    base = edition_of(hf_day(args.fixtures / LARGEST_DAY), dt.date(2026, 8, 18))
    if args.count:
        renderer = Renderer(settings, links)
        for reader, sections in readers(base, args.workload, args.count, settings):
            renderer.digest(base, reader, sections, now=RENDER_NOW)
        return
    start = time.perf_counter()
    before = PerPaperLinks(settings.base_url, links.signer, "papers@example.org")
    arms = {
        "before": Renderer(settings, before, assembled=False),
        "plain": Renderer(settings, links, assembled=False),
        "assembled": Renderer(settings, links),
    }
    compile_s = (time.perf_counter() - start) / 3
    print(
        f"papers in the edition  {len(base.papers)}; compile {compile_s * 1000:.0f} ms a renderer"
    )
    for workload in ("all", "ranked"):
        batch = readers(base, workload, args.emails, settings)
        times: dict[str, list[float]] = {name: [] for name in arms}
        sizes = []
        for round_no in range(args.rounds):
            edition = dataclasses.replace(base, id=round_no + 1)  # a new edition each round
            order = list(arms)[round_no % 3 :] + list(arms)[: round_no % 3]  # rotated
            made = {}
            for name in order:
                seconds, made[name] = cpu_per_email(arms[name], edition, batch)
                times[name].append(seconds)
            if round_no == 0:
                assert made["plain"] == made["assembled"], "the two paths gave different bytes"
                sizes = [len(d) for d in made["plain"]]
        before, plain, assembled = (statistics.median(times[n]) for n in arms)
        print(
            f"\n{workload}: {args.emails} emails a round, {args.rounds} rounds, "
            f"median message {statistics.median(sizes) / 1024:.1f} KiB (same bytes: yes)"
        )
        for name in arms:
            rounds = " / ".join(f"{t * 1000:.2f}" for t in times[name])
            print(
                f"  {name:<10} {statistics.median(times[name]) * 1000:6.2f} ms CPU/email  ({rounds})"
            )
        print(
            f"  assembled / plain = {assembled / plain:.2f}; plain / before = "
            f"{plain / before:.2f}; assembled / before = {assembled / before:.2f}"
        )
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 shared cores)")


if __name__ == "__main__":
    main()
