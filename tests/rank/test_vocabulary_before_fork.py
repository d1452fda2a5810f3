"""The "did you mean" vocabulary is built when the daily personalizer is made, before a send
forks its helpers, so that they share it (issue 18, item 5). Before, the first reader with
a topic that had no paper made each process import pyspellchecker and load its 160,000
words after the fork: "helper 1 imported 7 module(s) after the fork: ... spellchecker"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import datetime as dt, sys
from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Edition, Profile, Subscriber
from newsletter.personalize import personalizer
from newsletter.rank import suggest
from newsletter.render import Renderer
from newsletter.tokens import Signer
from tests.rank.papers import synthetic

now = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
settings = Settings(_env_file=None, secret_key="k" * 32, base_url="https://n.example")
renderer = Renderer(settings, Links.for_settings(settings, Signer.from_secrets("k" * 32)))
papers = synthetic(12, seed=3)
edition = Edition(1, now.date(), tuple(papers), now)
personalize = personalizer(
    settings, renderer, edition, now, feedback_for=lambda ids: {}, week_papers=lambda: []
)
before, loads = set(sys.modules), suggest.english_words.cache_info().misses
reader = Subscriber(7, "r@x.org", profile=Profile(topics=("{topic}",)), token_nonce="n7")
message = personalize([reader])[0]
print(sorted(set(sys.modules) - before), suggest.english_words.cache_info().misses - loads)
print("Nothing on" in message.data.decode("ascii", "replace"))
"""


def probe(topic: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("{topic}", topic)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()


def test_a_topic_with_no_paper_loads_nothing_after_the_personalizer_is_made() -> None:
    # A misspelt topic no synthetic paper matches: its section says "Nothing on ... today"
    # and asks the vocabulary for a correction, which must already be there.
    assert probe("quantum chemistri") == ["[] 0", "True"]
