"""The public archive page of an edition: every paper, grouped; relative links only."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import main
from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Edition
from newsletter.pipeline.batches import publish_web_version
from newsletter.rank.sections import TOP_TODAY
from newsletter.render import Renderer
from newsletter.sources import sample

DAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 6, tzinfo=dt.UTC)


def test_archive_page_lists_every_paper_grouped_with_relative_links(
    web_settings: Settings, links: Links
) -> None:
    codes = ("cs.RO", "cs.CL", "cs.CL", "")  # the RSS day's papers carry categories
    papers = tuple(
        replace(p, categories=(codes[i % 4],) if codes[i % 4] else ())
        for i, p in enumerate(sample.parse(sample.read()))
    )
    edition = Edition(1, DAY, papers, NOW)
    publish_web_version(web_settings, Renderer(web_settings, links), edition)
    folder: Path = web_settings.archive_dir
    page = (folder / f"{DAY}.html").read_text()
    shown = set(re.findall(r"arxiv\.org/abs/([0-9]{4}\.[0-9]{4,5})", page))
    assert shown == {p.arxiv_id for p in papers}  # every paper, not the top ten
    # a reader without topics' sections first, then the rest by category, most papers first
    titles = [
        page.index(t) for t in (TOP_TODAY, "Computation and Language (cs.CL)", "Robotics (cs.RO)")
    ]
    assert titles == sorted(titles) and page.index("Other papers") > titles[-1]
    for name in ("index.html", f"{DAY}.html", "feed.xml"):
        text = (folder / name).read_text()
        hrefs = re.findall(r'href="([^"]+)"', text)
        assert hrefs and not [h for h in hrefs if h.startswith(web_settings.base_url)], name
    assert 'href="../subscribe"' in page and 'href="index.html"' in page


def test_demo_archive_has_no_absolute_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["--env-file", "/dev/null", "demo"])
    assert done.exit_code == 0, done.output
    for path in sorted((tmp_path / "archive").iterdir()):
        hrefs = re.findall(r'href="([^"]+)"', path.read_text())
        local = [h for h in hrefs if "localhost" in h or h.startswith("/")]
        assert not local, (path.name, local[:3])
    page = next((tmp_path / "archive").glob("2026-*.html")).read_text()
    assert len(set(re.findall(r"arxiv\.org/abs/([0-9.]+)", page))) == 30  # every paper
