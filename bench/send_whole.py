"""The "whole job" arm of ``bench/send_bench.py``: ``newsletter run`` as a user runs it.

No performance setting at all (no SEND_PROCESSES, SMTP_CONCURRENCY, batch size or rate):
only where to collect from, where to send to, the database and the secret. The edition is
not collected yet: the Hugging Face Daily Papers day is served from a local HTTP server
(a real captured day from the shared fixtures), so the run collects, freezes, ranks,
renders and sends, and the bench checks that every reader's row is ``sent``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from bench.send_arms import ROOT, project_env

SHARED = Path(
    os.environ.get("NEWSLETTER_FIXTURES", str(ROOT.parent / "shared" / "fixtures" / "real"))
)
HF_DAY = "hf_daily_papers_2026-08-18.json"  # a real day: 29 papers


def hf_day_file() -> Path | None:
    """The captured HF day the bench serves, if the shared fixtures are there."""
    for folder in (SHARED, Path("/work/shared/fixtures/real")):
        if (folder / HF_DAY).is_file():
            return folder / HF_DAY
    return None


def edition_date(day_file: Path) -> dt.date:
    """The edition holding the HF list of the file's UTC day (``edition_day``)."""
    from newsletter.edition_day import edition_of_hf_day

    return edition_of_hf_day(dt.date.fromisoformat(day_file.stem.rsplit("_", 1)[1]))


@contextmanager
def serve_hf_day(day_file: Path) -> Iterator[str]:
    """``GET /api/daily_papers?date=…&p=0`` answers the captured day (for every date of
    the edition; the collector drops repeated ids), later pages ``[]``. Yields the URL."""
    body = day_file.read_bytes()
    json.loads(body)  # a broken file fails here, not in the middle of a round

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = parse_qs(urlparse(self.path).query).get("p", ["0"])[0]
            answer = body if page == "0" else b"[]"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/daily_papers"
    finally:
        server.shutdown()
        server.server_close()


def uncollected_copy(pristine: Path, target: Path) -> None:
    """The pristine database (N readers) without any edition: nothing collected yet.

    Copied with SQLite's backup API, not as a file: a WAL database's file alone misses
    what its ``-wal`` still holds, and a ``-wal`` left by an interrupted run beside the
    target would be read with the new file."""
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    with closing(sqlite3.connect(pristine)) as source, closing(sqlite3.connect(target)) as conn:
        source.backup(conn)
        with conn:
            for table in ("ledger", "editions", "papers"):
                conn.execute(f"DELETE FROM {table}")


def whole_env(url: str, port: int, work: Path, hf_url: str) -> dict[str, str]:
    """What a user sets: database, SMTP server, source, secret, public URL. Nothing else."""
    env = project_env(url, port, work, None, {})
    env.update(NEWSLETTER_SOURCES="hf_daily", NEWSLETTER_HF_DAILY_URL=hf_url)
    return env
