"""The segment encoder's kept lines stay small however long a send runs (issue 18).

Like ``QpCache`` (``test_qp_cache_memory.py``): a sender keeps one ``segments.Encoder``
for the whole send, and lines two readers share keep coming. Measured with
``tracemalloc`` (allocation sizes, not timing).
"""

from __future__ import annotations

import gc
import tracemalloc

from newsletter.render.segments import Encoder, Plan, document, qp_lines

EMAILS = 24_000
MB = 1024 * 1024
PLAN = Plan(("<div>\n<td>", "</td>\n<a href='", "'>more</a>\n<p>The footer.</p>\n"))


def values(n: int) -> tuple[str, str]:
    """A value two readers share (long, like a section header) and one only this reader
    gets (a link)."""
    shared = f"Readers of group {n // 2}: " + "a section header, folded. " * 34
    return shared, f"https://x.test/feedback/{n}"


def test_encoder_holds_at_most_12_mb_after_many_emails() -> None:
    runs = [[(PLAN, values(n))] for n in range(EMAILS)]  # built before measuring
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        encoder = Encoder()
        for run in runs:
            encoder.encode(run)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 12,000 shared lines of about 950 characters: all of them kept with the bounds before
    # (20,000 lines, 200,000 hashes), 15.7 MB held; 8.3 MB with 5,000 and 50,000.
    assert held < 12 * MB, f"{held / MB:.1f} MB"
    assert encoder.encode(runs[-1]) == qp_lines(document(runs[-1]))
