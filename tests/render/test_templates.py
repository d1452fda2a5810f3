"""Operator overrides, broken templates (file + line, before anything is sent), notices, archive."""

from __future__ import annotations

import datetime as dt
import email
import re
import xml.etree.ElementTree as ET
from email.policy import default
from pathlib import Path

import pytest

from newsletter.config import Settings
from newsletter.errors import TemplateError
from newsletter.links import Links
from newsletter.models import Edition, Subscriber
from newsletter.render import NOTICE_KINDS, Renderer
from newsletter.render.archive import write_archive
from newsletter.render.compile import BUILTIN_TEMPLATES
from tests.render.editions import BASE_URL, NOW, signed_links, split_sections


def override(tmp_path: Path, name: str, text: str) -> Settings:
    folder = tmp_path / "my-templates"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return Settings(_env_file=None, base_url=BASE_URL, templates_dir=folder)


def test_an_override_wins_over_the_builtin(tmp_path: Path, links: Links) -> None:
    settings = override(tmp_path, "welcome.txt.j2", "Hello from the operator, {{ list_name }}.\n")
    reader = Subscriber(id=3, email="a@example.com", token_nonce="a-nonce")
    msg = Renderer(settings, links).notice(
        "welcome", "a@example.com", subscriber=reader, context={}, now=NOW
    )
    assert msg.text == "Hello from the operator, Daily Papers.\n"
    assert "You are subscribed" in msg.html  # the HTML still comes from the built-in


@pytest.mark.parametrize(
    ("name", "broken_line", "text"),
    [
        ("digest.txt.j2", 4, "line one\nline two\n{% for x in sections %}\nno endfor\n"),
        (
            "digest.mjml.j2",
            4,
            "<mjml>\n<mj-body>\n<mj-section><mj-column>\n<mj-text>{{ oops( }}</mj-text>\n",
        ),
        (  # reported where the mismatch shows; the message names the unclosed tag's line
            "digest.mjml.j2",
            5,
            "<mjml>\n<mj-body>\n<mj-section>\n<mj-column><mj-text>x</mj-text></mj-column>\n</mj-body></mjml>\n",
        ),
        (
            "_footer.mjml.j2",
            2,
            "<mj-section>\n<mj-colum><mj-text>x</mj-text></mj-colum>\n</mj-section>\n",
        ),
    ],
)
def test_a_broken_template_names_file_and_line(
    tmp_path: Path, links: Links, name: str, broken_line: int, text: str
) -> None:
    settings = override(tmp_path, name, text)
    with pytest.raises(TemplateError) as caught:
        Renderer(settings, links)
    assert caught.value.path == str(tmp_path / "my-templates" / name)
    assert caught.value.line == broken_line
    assert f"{name}:{broken_line}" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_run_compiles_a_notice_template_when_it_is_first_needed(
    tmp_path: Path, links: Links
) -> None:
    broken = "<mjml>\n<mj-body>\n<mj-section><mj-column>\n<mj-text>{{ oops( }}</mj-text>\n"
    settings = override(tmp_path, "goodbye.mjml.j2", broken)
    with pytest.raises(TemplateError):  # the default: every template checked when built
        Renderer(settings, links)
    lazy = Renderer(settings, links, notices=False)  # as `newsletter run` builds it
    reader = Subscriber(id=3, email="a@example.com", token_nonce="a-nonce")
    welcome = lazy.notice("welcome", "a@example.com", subscriber=reader, context={}, now=NOW)
    assert "You are subscribed" in welcome.html
    with pytest.raises(TemplateError) as caught:
        lazy.notice("goodbye", "a@example.com", subscriber=reader, context={}, now=NOW)
    assert caught.value.path == str(tmp_path / "my-templates" / "goodbye.mjml.j2")
    assert caught.value.line == 4
    with pytest.raises(TemplateError):
        Renderer(settings, links, notices=False).compile_notices()


@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_a_notice_compiled_on_first_use_is_the_same_email(
    renderer: Renderer, settings: Settings, links: Links, kind: str
) -> None:
    reader = None if kind == "alert" else Subscriber(9, "reader@example.com", token_nonce="r9")
    context = {"summary": "3 sends failed"} if kind == "alert" else {"topics": ["robotics"]}
    lazy = Renderer(settings, links, notices=False)
    eager, first = (
        r.notice(kind, "reader@example.com", subscriber=reader, context=context, now=NOW)
        for r in (renderer, lazy)
    )
    assert first.data == eager.data


def test_every_builtin_template_compiles_and_is_checked() -> None:
    names = sorted(p.name for p in BUILTIN_TEMPLATES.glob("*.j2"))
    assert {f"{k}.mjml.j2" for k in ("digest", *NOTICE_KINDS)} <= set(names)
    assert {f"{k}.txt.j2" for k in ("digest", *NOTICE_KINDS)} <= set(names)


@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_notices_share_the_layout(renderer: Renderer, links: Links, kind: str) -> None:
    reader = None if kind == "alert" else Subscriber(9, "reader@example.com", token_nonce="r9")
    context = (
        {"summary": "3 of 120 sends failed", "details": ["smtp: 451 greylisted"]}
        if kind == "alert"
        else {"topics": ["robotics"]}
    )
    msg = renderer.notice(kind, "reader@example.com", subscriber=reader, context=context, now=NOW)
    parsed = email.message_from_bytes(msg.data, policy=default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert "Daily Papers" in msg.html and "Daily Papers" in msg.text
    assert "{{" not in msg.html and "<mj-" not in msg.html
    if kind == "confirmation":
        assert reader is not None
        assert set(signed_links(msg.html, links, "confirm", reader)) == {"9"}
        assert set(signed_links(msg.text, links, "confirm", reader)) == {"9"}
    if kind == "welcome":
        assert reader is not None and parsed["List-Unsubscribe"]
        assert "9" in signed_links(msg.html, links, "preferences", reader)
    if kind == "alert":
        assert parsed["List-Unsubscribe"] is None
        assert msg.subject == "[Daily Papers] 3 of 120 sends failed"
        assert "smtp: 451 greylisted" in msg.text and "smtp: 451 greylisted" in msg.html
    if kind == "goodbye":
        assert "/unsubscribe/" not in msg.html and links.subscribe() in msg.html


def test_archive_page_index_and_feed(
    renderer: Renderer, largest_day: Edition, tmp_path: Path
) -> None:
    folder = tmp_path / "archive"
    earlier = Edition(
        id=7,
        date=dt.date(2026, 8, 11),
        papers=largest_day.papers[:3],
        created_at=NOW - dt.timedelta(days=7),
    )
    for edition in (earlier, largest_day, largest_day):  # the same edition twice: one entry
        html = renderer.web_page(edition, split_sections(list(edition.papers), ("agents",)))
        page = write_archive(folder, edition, html, BASE_URL)
        assert page == folder / f"{edition.date}.html" and page.read_text() == html
    index = (folder / "index.html").read_text()
    assert index.index("2026-08-18.html") < index.index("2026-08-11.html")
    assert 'href="2026-08-18.html"' in index  # relative: works from disk, behind any BASE_URL
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(folder / "feed.xml").getroot()
    links = [e.find("a:link", ns).get("href") for e in feed.findall("a:entry", ns)]  # type: ignore[union-attr]
    assert links == ["2026-08-18.html", "2026-08-11.html"]
    ids = [e.findtext("a:id", None, ns) for e in feed.findall("a:entry", ns)]
    assert ids == [f"{BASE_URL}/archive/2026-08-18.html", f"{BASE_URL}/archive/2026-08-11.html"]
    for name in ("index.html", "2026-08-18.html"):
        hrefs = re.findall(r'href="([^"]+)"', (folder / name).read_text())
        assert not [h for h in hrefs if h.startswith(BASE_URL)], name
    assert not list(folder.glob(".*.tmp"))
