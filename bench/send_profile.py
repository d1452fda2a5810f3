"""Where the CPU of a default ``newsletter run`` goes: cProfile over one sender process.

    .venv/bin/python bench/send_profile.py --n 4000

The whole job as in ``bench/send_bench.py``'s whole arm (collect from a local HF day ->
all sent to Postfix's smtp-sink), with ``SEND_PROCESSES=1`` so that one profile sees all
of it. Prints CPU per message by area (own time of the functions, grouped by the file
they live in), the whole of ``Renderer.digest`` (cumulative: templates, cards, encoding,
signed links, MIME) and the 25 functions with the most own time.
"""

from __future__ import annotations

import argparse
import pstats
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.send_arms import PYTHON, seed_database
from bench.send_bench import SAMPLE_DATE, free_port, start_sink
from bench.send_whole import edition_date, hf_day_file, serve_hf_day, uncollected_copy, whole_env

# (area, substrings of the file path): the first that matches names a function's area.
AREAS = (
    ("render: Jinja2 templates", ("jinja2", "<template>", "templates/")),
    ("render: quoted-printable, MIME, headers", ("render/compose", "binascii", "email/", "quopri")),
    ("render: signed links (HMAC)", ("tokens.py", "links.py", "hmac", "hashlib", "base64")),
    ("render: the rest", ("newsletter/render", "markupsafe")),
    ("rank", ("newsletter/rank", "scipy", "numpy", "snowball", "rapidfuzz", "personalize")),
    ("SMTP client (aiosmtplib, pipelining, transport)", ("aiosmtplib", "newsletter/deliver")),
    ("event loop and sockets", ("asyncio", "selectors", "socket", "ssl.py")),
    ("ledger (SQLAlchemy, sqlite3)", ("sqlalchemy", "sqlite3", "newsletter/store")),
    ("send loop", ("newsletter/outbox",)),
    ("collect (httpx, parsing)", ("httpx", "httpcore", "newsletter/sources", "json", "h11")),
    ("imports", ("<frozen importlib", "importlib")),
)


# Built-in functions have no file: their names say where they belong.
BUILTINS = (
    ("event loop and sockets", ("socket", "epoll", "select")),
    ("render: quoted-printable, MIME, headers", ("b2a_qp", "binascii")),
    ("render: signed links (HMAC)", ("hmac", "hashlib", "b32", "b64")),
    ("ledger (SQLAlchemy, sqlite3)", ("sqlite3",)),
    ("imports", ("compile", "marshal", "exec", "posix.stat", "_imp")),
)
# Runs the CLI under a CPU-time profiler (``-m cProfile`` measures wall time, which a
# shared machine's other jobs inflate).
RUNNER = """
import cProfile, sys, time
from newsletter.cli import main
profile = cProfile.Profile(time.process_time)
try:
    profile.runcall(main.main, sys.argv[2:], standalone_mode=False)
finally:
    profile.dump_stats(sys.argv[1])
"""


def area(filename: str, function: str) -> str:
    if filename == "~":
        for name, parts in BUILTINS:
            if any(p in function for p in parts):
                return name
        return "other built-ins (str, dict, re, ...)"
    for name, parts in AREAS:
        if any(p in filename for p in parts):
            return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    papers = hf_day_file()
    if papers is None:
        raise SystemExit("needs the shared HF day (../shared/fixtures/real)")
    work = Path(tempfile.mkdtemp(prefix="send-profile-"))
    pristine, db = work / "pristine.db", work / "run.db"
    seed_database(pristine, args.n, SAMPLE_DATE, papers, random.Random(args.seed))
    uncollected_copy(pristine, db)
    port = free_port()
    sink = start_sink(port)
    try:
        with serve_hf_day(papers) as hf_url:
            env = whole_env(f"sqlite:///{db}", port, work, hf_url)
            env["NEWSLETTER_SEND_PROCESSES"] = "1"
            out = work / "run.prof"
            command = [PYTHON, "-c", RUNNER, str(out), "-q", "run"]
            subprocess.run(
                [*command, "--date", edition_date(papers).isoformat()],
                env=env,
                cwd=work,
                check=True,
            )
    finally:
        sink.terminate()
        sink.wait()
    stats = pstats.Stats(str(out))
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    by_area: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in raw.items():
        name = area(filename, function)
        by_area[name] = by_area.get(name, 0.0) + own
    print(f"{args.n} messages, one process, profiled CPU (process time) {total:.1f} s")
    print(f"({total * 1000 / args.n:.2f} ms per message; cProfile itself adds to every call)")
    digest = sum(
        cum
        for (filename, _line, function), (_cc, _nc, _own, cum, _callers) in raw.items()
        if filename.endswith("render/renderer.py") and function == "digest"
    )
    print(
        f"render, all of Renderer.digest (cumulative): {digest * 1000 / args.n:.3f} ms per message"
    )
    print("| area | ms per message | share |\n|---|---|---|")
    for name, own in sorted(by_area.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {own * 1000 / args.n:.3f} | {own / total:.0%} |")
    print()
    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
