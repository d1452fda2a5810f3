"""Maildir delivery when the disk refuses a write (a real EFBIG from RLIMIT_FSIZE).

The message file in ``new/`` is the delivery; the HTML copy is a convenience. A message
that reached ``new/`` is ``sent`` whatever happens to its copy, and a write that fails
leaves no partial file in ``tmp/``.
"""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from newsletter.store import ledger
from newsletter.store.db import Store
from tests.support.delivery import address, seed, utcnow

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


def maildir_proc(outbox: Path, limit: int, html_bytes: int, url: str, count: int = 0) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "tests.deliver.maildir_proc", str(outbox), str(limit),
         str(html_bytes), url, str(count)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def copies_in_new(outbox: Path) -> Counter[str]:
    return Counter(
        str(email.message_from_bytes(p.read_bytes())["To"]) for p in (outbox / "new").iterdir()
    )


def test_a_failing_html_copy_does_not_undo_the_delivery(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    results = maildir_proc(outbox, 1 * MiB, 2 * MiB, "-", 3)
    assert [state for state, _text in results] == ["sent"] * 3, results
    assert copies_in_new(outbox) == {address(i): 1 for i in range(3)}
    assert list((outbox / "tmp").iterdir()) == []
    assert list((outbox / "html").iterdir()) == []  # no half-written copy either


def test_a_message_that_cannot_be_written_is_deferred_and_leaves_nothing_in_tmp(
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "outbox"
    results = maildir_proc(outbox, 200, 10, "-", 2)  # every message is over 200 bytes
    assert [state for state, _text in results] == ["deferred"] * 2, results
    assert all("File too large" in text for _state, text in results)
    assert list((outbox / "new").iterdir()) == []
    assert list((outbox / "tmp").iterdir()) == []


def test_the_ledger_books_a_delivered_message_sent_and_the_next_run_sends_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'maildir.db'}"
    store = Store.open(url, now=utcnow())
    edition = seed(store, 4)
    outbox = tmp_path / "outbox"
    first = maildir_proc(outbox, 1 * MiB, 2 * MiB, url)
    assert first["counts"]["sent"] == 4, first
    again = maildir_proc(outbox, 1 * MiB, 2 * MiB, url)
    assert again["sent_now"] == 0
    assert copies_in_new(outbox) == {address(i): 1 for i in range(4)}
    assert list((outbox / "tmp").iterdir()) == []
    with store.begin() as conn:
        assert {r.state for r in ledger.rows(conn, edition.id)} == {"sent"}
    store.close()
