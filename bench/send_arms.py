"""The arms of ``bench/send_vs_smtp_limit.py``: setup, the limit, the naive loop, the project run."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import smtplib
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from mjml import mjml2html
from sqlalchemy import delete, insert, text

from bench._proc import memory_kb, process_tree
from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Paper, Subscriber
from newsletter.personalize import make_ranker
from newsletter.pipeline.batches import make_personalizer
from newsletter.render import Renderer
from newsletter.render.compile import _expand_includes, find_template, template_dirs
from newsletter.sources import sample
from newsletter.store import editions, ledger, subscribers
from newsletter.store.db import Store
from newsletter.store.schema import ledger as ledger_table
from newsletter.store.schema import subscribers as subscribers_table
from newsletter.tokens import Signer

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECRET = "bench-secret-key"
BASE_URL = "https://papers.example.org"
# What readers of an ML paper digest subscribe to: broad fields, methods, narrow niches.
TOPIC_POOL = (
    "large language models", "reinforcement learning", "diffusion models", "video generation",
    "image generation", "multimodal agents", "robot manipulation", "graph neural networks",
    "speech recognition", "machine translation", "retrieval augmented generation",
    "code generation", "mathematical reasoning", "chain of thought", "mixture of experts",
    "quantization", "LoRA fine-tuning", "test-time adaptation", "benchmarks", "AI safety",
    "alignment", "RLHF", "vision transformers", "3D reconstruction", "gaussian splatting",
    "protein design", "drug discovery", "time series forecasting", "federated learning",
    "Bayesian inference", "causal inference", "recommender systems", "tabular data",
    "medical imaging", "autonomous driving", "world models", "embodied AI", "tokenization",
    "long context", "knowledge distillation", "speculative decoding", "interpretability",
    "hallucination", "evaluation of LLMs", "open-vocabulary detection", "text-to-speech",
)  # fmt: skip
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SetupInfo:
    papers: int
    topic_sets: int
    average_size: int
    sampled: int


def bench_settings(url: str, port: int, work: Path, papers: Path | None) -> Settings:
    return Settings(
        _env_file=None,
        database_url=url,
        delivery="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        sources="sample",
        sample_path=papers,
        secret_key=SECRET,
        base_url=BASE_URL,
        archive_dir=work / "archive",
    )


def edition_papers(papers: Path | None) -> list[Paper]:
    return sample.parse(sample.read(papers))


def seed_database(
    target: Path | str, n: int, date: dt.date, papers: Path | None, rng: random.Random
) -> SetupInfo:
    """Freeze the edition and add ``n`` active subscribers; measure the average message size."""
    url = target if isinstance(target, str) else f"sqlite:///{target}"
    store = Store.open(url, now=NOW)
    day = edition_papers(papers)
    seen: set[tuple[str, ...]] = set()
    with store.begin() as conn:
        edition = editions.freeze(conn, date, day, sources=["sample"], now=NOW)
        for start in range(0, n, 5000):
            rows = []
            for i in range(start, min(n, start + 5000)):
                topics = sorted(rng.sample(TOPIC_POOL, rng.randint(1, 3)))
                seen.add(tuple(topics))
                rows.append(
                    {
                        "email": f"reader{i:07d}@example.test",
                        "name": f"Reader {i}",
                        "topics": topics,
                        "categories": [],
                        "authors": [],
                        "exclude": [],
                        "status": "active",
                        "frequency": "daily",
                        "bounce_score": 0.0,
                        "created_at": NOW,
                        "updated_at": NOW,
                        "confirmed_at": NOW,
                    }
                )
            conn.execute(insert(subscribers_table), rows)
    settings = bench_settings(url, 25, Path("."), papers)
    renderer = Renderer(settings, Links.for_settings(settings, Signer.from_secrets(SECRET)))
    personalize = make_personalizer(store, settings, edition, NOW, renderer)
    sampled = min(n, 300)
    with store.begin() as conn:
        found = subscribers.get_many(conn, list(range(1, sampled + 1)))
    sizes = [len(m.data) for m in personalize(list(found.values()))]
    store.close()
    return SetupInfo(len(day), len(seen), int(statistics.mean(sizes)), len(sizes))


def smtp_source(port: int, count: int, size: int) -> float:
    """Postfix's C load generator: 8 sessions, connections reused, ``size``-byte messages."""
    target = f"127.0.0.1:{port}"
    started = time.perf_counter()
    subprocess.run(
        ["/usr/sbin/smtp-source", "-d", "-s", "8", "-m", str(count), "-l", str(size), target],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return count / (time.perf_counter() - started)


def naive_arm(db: Path, port: int, count: int, date: dt.date) -> float:
    """What popular digest scripts do: per email, Jinja2 on the MJML, mjml2html, smtplib."""
    settings = bench_settings(f"sqlite:///{db}", port, db.parent, None)
    store = Store.open(settings.database_url, now=NOW, migrate=False)
    with store.begin() as conn:
        edition = editions.get_by_date(conn, date)
        readers = subscribers.get_many(conn, list(range(1, count + 1)))
    store.close()
    assert edition is not None
    links = Links.for_settings(settings, Signer.from_secrets(SECRET))
    renderer = Renderer(settings, links)  # for the same context as the project's emails
    dirs = template_dirs(None)
    env = renderer._html_env
    mjml_source = _expand_includes(dirs, find_template(dirs, "digest.mjml.j2"), env, 0)
    mjml_template = env.from_string(mjml_source)
    text_template = renderer._text["digest"]
    started = time.perf_counter()
    ranker = make_ranker(settings, edition.papers)
    for reader in readers.values():
        sections = ranker.rank(reader.profile)
        context = naive_context(renderer, edition, reader, sections)
        html = mjml2html(mjml_template.render(context), disable_comments=True, fonts={})
        message = EmailMessage()
        message["From"] = settings.from_address
        message["To"] = reader.email
        message["Subject"] = context["subject"]
        message["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        message.set_content(text_template.render(context))
        message.add_alternative(html, subtype="html")
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.send_message(message, from_addr=settings.sender_address)
    return len(readers) / (time.perf_counter() - started)


def naive_context(
    renderer: Renderer, edition: object, reader: Subscriber, sections: object
) -> dict:  # type: ignore[type-arg]
    from newsletter.render import views

    context = renderer._base_context(reader, reader.topics)
    context.update(
        subject=views.subject_line(renderer.settings.list_name, edition.date, sections),  # type: ignore[attr-defined]
        preheader=views.preheader(sections),  # type: ignore[arg-type]
        heading=views.day_label(edition.date),  # type: ignore[attr-defined]
        sections=renderer._sections(edition, sections, reader),  # type: ignore[arg-type]
        view_url=renderer.links.archive_page(edition.date),  # type: ignore[attr-defined]
        footer_reason=f"You get this email because {reader.email} subscribed.",
    )
    return context


def project_env(
    url: str, port: int, work: Path, papers: Path | None, extra: dict[str, str]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(
        NEWSLETTER_DATABASE_URL=url,
        NEWSLETTER_DELIVERY="smtp",
        NEWSLETTER_SMTP_HOST="127.0.0.1",
        NEWSLETTER_SMTP_PORT=str(port),
        NEWSLETTER_SMTP_SECURITY="none",
        NEWSLETTER_SOURCES="sample",
        NEWSLETTER_SECRET_KEY=SECRET,
        NEWSLETTER_BASE_URL=BASE_URL,
        NEWSLETTER_ARCHIVE_DIR=str(work / "archive"),
        PYTHONPATH=str(ROOT),
    )
    if papers is not None:
        env["NEWSLETTER_SAMPLE_PATH"] = str(papers)
    env.update(
        {k if k.startswith("NEWSLETTER_") else f"NEWSLETTER_{k}": v for k, v in extra.items()}
    )
    return env


def run_project(
    stats_dir: Path, env: dict[str, str], n: int, date: dt.date, argv: list[str] | None = None
) -> dict[str, float]:
    """``newsletter run`` in a subprocess; peak RSS by polling /proc over its process tree."""
    stats_dir.mkdir(parents=True, exist_ok=True)
    command = argv or ["run", "--date", date.isoformat()]
    child = subprocess.Popen(
        [PYTHON, str(ROOT / "bench" / "send_child.py"), str(stats_dir), "-q", *command],
        env=env,
        cwd=stats_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    peak_total = peak_one = peak_pss = 0
    processes: set[int] = set()
    while child.poll() is None:
        tree = process_tree(child.pid)
        processes.update(tree)
        sizes = [memory_kb(p) for p in tree]
        peak_total = max(peak_total, sum(rss for rss, _ in sizes))
        peak_pss = max(peak_pss, sum(pss for _, pss in sizes))
        peak_one = max(peak_one, *(rss for rss, _ in sizes))
        time.sleep(0.05)
    output = child.stdout.read().decode() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"newsletter run failed ({child.returncode}):\n{output}")
    sent = _count_sent(env["NEWSLETTER_DATABASE_URL"])
    if sent != n:
        raise SystemExit(f"newsletter run sent {sent} of {n}:\n{output}")
    main = json.loads((stats_dir / "main.json").read_text())
    parts = [json.loads(p.read_text()) for p in stats_dir.glob("[0-9]*.json")]
    rank = sum(p["rank"] for p in parts)
    render = sum(p["render"] for p in parts)
    cpu = main["cpu"] + sum(p["cpu"] for p in parts if p["pid"] != main["pid"])
    wall = main["wall"]
    collect = main.get("collect", 0.0)
    return {
        "rate": n / wall,
        "wall": wall,
        "collect": collect,
        "collect_wall": main.get("collect_wall", 0.0),
        "startup": main.get("startup", 0.0),
        "rank": rank,
        "render": render,
        "cpu": cpu,
        "send_other": cpu - rank - render - collect,
        "rss_mb": peak_total / 1024,
        "pss_mb": peak_pss / 1024,
        "max_process_mb": max(peak_one / 1024, main["maxrss_kb"] / 1024),
        "processes": float(len(processes)),
    }


def _count_sent(url: str) -> int:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            row = conn.execute("SELECT count(*) FROM ledger WHERE state = 'sent'").fetchone()
            return int(row[0])
    store = Store.open(url, now=NOW, migrate=False)
    with store.begin() as conn:
        count = conn.execute(text("SELECT count(*) FROM ledger WHERE state = 'sent'")).scalar_one()
    store.close()
    return int(count)


def worker_scaling(work: Path, port: int, args: argparse.Namespace, extra: dict[str, str]) -> None:
    """1 vs 2 ``newsletter send --worker`` processes sharing one PostgreSQL database."""
    admin = args.pg.rsplit("/", 1)[0]
    url = f"{admin}/bench_send"
    raw = Store.open(args.pg, now=NOW, migrate=False)
    with raw.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_send"))
        conn.execute(text("CREATE DATABASE bench_send"))
    raw.close()
    info = seed_database(url, args.n, dt.date(2026, 11, 26), args.papers, random.Random(args.seed))
    print(f"setup on PostgreSQL: {args.n} subscribers, {info.papers} papers")
    store = Store.open(url, now=NOW)
    env = project_env(url, port, work, args.papers, extra)
    # One process per worker (SEND_PROCESSES defaults to the cores): 1 vs 2 processes.
    env.setdefault("NEWSLETTER_SEND_PROCESSES", "1")
    rates: dict[int, list[float]] = {1: [], 2: []}
    try:
        for round_no in range(1, args.rounds + 1):
            for workers in (1, 2):
                with store.begin() as conn:
                    conn.execute(delete(ledger_table))
                    edition = editions.get_by_date(conn, dt.date(2026, 11, 26))
                    assert edition is not None
                    ids = list(
                        conn.execute(
                            subscribers_table.select().with_only_columns(subscribers_table.c.id)
                        ).scalars()
                    )
                    # Queued now, by the real clock: rows queued at the fixed NOW expire
                    # (MAX_AGE, 72 h) once the calendar is past it, and are never tried.
                    ledger.enqueue(conn, edition.id, ids, dt.datetime.now(dt.UTC))
                started = time.perf_counter()
                procs = [
                    subprocess.Popen(
                        [PYTHON, "-m", "newsletter", "-q", "send", f"--worker=w{i}",
                         "--date", "2026-11-26"],
                        env=env, cwd=work, stdout=subprocess.DEVNULL,
                    )
                    for i in range(workers)
                ]  # fmt: skip
                codes = [p.wait() for p in procs]
                wall = time.perf_counter() - started
                sent = _count_sent(url)
                if any(codes) or sent != args.n:
                    raise SystemExit(f"{workers} worker(s): exit codes {codes}, sent {sent}")
                rates[workers].append(args.n / wall)
                print(f"round {round_no}: {workers} worker(s) {args.n / wall:8.0f} msg/s")
    finally:
        store.close()
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"MEDIANS: 1 worker {one:.0f} msg/s, 2 workers {two:.0f} msg/s, scaling x{two / one:.2f}")
