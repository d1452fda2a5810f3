"""The quoted-printable line cache stays small however long a send runs (issue 18).

A sender keeps one ``QpCache`` for the whole send. Lines two readers share (a name, a set
of topics) keep coming as it sends, and each line it keeps costs its text twice (the
line and its encoding). Measured with ``tracemalloc`` (allocation sizes, not timing).
"""

from __future__ import annotations

import gc
import tracemalloc

from newsletter.render.mime import QpCache, _qp

EMAILS = 24_000
MB = 1024 * 1024


def email(n: int) -> str:
    """One email's text: a line two readers share (long, like an HTML line of a section
    header), a line only this reader gets (a link) and a line every email has."""
    shared = f"<td>Readers of group {n // 2}: " + "a section header, folded. " * 34 + "</td>"
    personal = f"<a href='https://x.test/feedback/{n}'>more like this</a>"
    return f"{shared}\n{personal}\n<p>The footer every email shares.</p>\n"


def test_cache_holds_at_most_16_mb_after_many_emails() -> None:
    texts = [email(n) for n in range(EMAILS)]  # built before measuring
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        cache = QpCache()
        for text in texts:
            cache.encode(text)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 12,000 shared lines of about 950 characters: all of them kept, about 23 MB held (the
    # bounds before: 20,000 lines, 200,000 hashes).
    assert held < 16 * MB, f"{held / MB:.1f} MB"
    assert len(cache._lines) <= cache.max_lines
    assert len(cache._seen) <= cache.max_seen
    # Still a cache: the line every email has is kept, and the bytes are the plain path's.
    assert b"<p>The footer every email shares.</p>" in cache._lines
    assert cache.encode(texts[-1]) == _qp(texts[-1])
