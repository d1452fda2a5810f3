"""Render speed: one 29-paper digest (the largest real fixture day) per subscriber.

    .venv/bin/python bench/render_speed.py [FIXTURE_DIR]

Prints the template compile time and the per-email time (Jinja for both parts, feedback
tokens, MIME bytes), as medians of several interleaved runs, plus the encoded sizes.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import LARGEST_DAY, RENDER_NOW, edition_of, hf_day, sections_by_topic
from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Profile, Subscriber
from newsletter.render import Renderer
from newsletter.tokens import Signer

RUNS = 7
EMAILS_PER_RUN = 300


def main() -> None:
    folder = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[2] / "shared/fixtures/real"
    )
    settings = Settings(_env_file=None, base_url="https://papers.example.org")
    links = Links(settings.base_url, Signer.from_secrets("bench"), "papers@example.org")
    papers = hf_day(folder / LARGEST_DAY)
    edition = edition_of(papers, dt.date(2026, 8, 18))
    topics = ("multimodal agents", "image generation", "benchmarks")
    sections = sections_by_topic(papers, topics)
    compile_times, per_email = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        renderer = Renderer(settings, links)
        compile_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        for sid in range(1, EMAILS_PER_RUN + 1):
            subscriber = Subscriber(
                id=sid, email=f"r{sid}@example.com", profile=Profile(topics), token_nonce="n"
            )
            msg = renderer.digest(edition, subscriber, sections, now=RENDER_NOW)
        per_email.append((time.perf_counter() - start) / EMAILS_PER_RUN)
    print(f"papers per email     {len(papers)}")
    print(f"compile (once)       {statistics.median(compile_times) * 1000:.1f} ms median of {RUNS}")
    print(
        f"per email            {statistics.median(per_email) * 1000:.2f} ms median of {RUNS} runs x {EMAILS_PER_RUN}"
    )
    print(f"  min / max run      {min(per_email) * 1000:.2f} / {max(per_email) * 1000:.2f} ms")
    print(f"HTML (decoded)       {len(msg.html.encode()) / 1024:.1f} KiB")
    print(f"whole message bytes  {len(msg.data) / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
