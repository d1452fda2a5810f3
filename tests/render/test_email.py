"""The digest as a mail client sees it: headers, parts, links, size, plain text, injection."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import re
from email.message import EmailMessage
from email.policy import default
from html.parser import HTMLParser

from newsletter.links import Links
from newsletter.models import Edition, Paper, Profile, RankedItem, Section, Subscriber
from newsletter.render import Renderer
from newsletter.render.clean import clean_text
from tests.render.editions import BASE_URL, NOW, edition_of, signed_links, split_sections


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[EmailMessage, EmailMessage]:
    assert message.get_content_type() == "multipart/alternative"
    plain, html = list(message.iter_parts())
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    return plain, html


def test_digest_headers_and_parts(
    renderer: Renderer, links: Links, largest_day: Edition, subscriber: Subscriber
) -> None:
    sections = split_sections(list(largest_day.papers), subscriber.topics)
    msg = renderer.digest(largest_day, subscriber, sections, now=NOW)
    assert b"\n" not in msg.data.replace(b"\r\n", b"")  # CRLF only, no bare LF
    parsed = parse(msg.data)
    assert parsed["From"] == "Daily Papers <papers@example.org>"
    assert parsed["To"].addresses[0].addr_spec == "ada@example.com"
    assert parsed["Message-ID"] == msg.message_id
    assert parsed["MIME-Version"] == "1.0"
    assert email.utils.parsedate_to_datetime(parsed["Date"]) == NOW
    assert parsed["List-Id"] == "Daily Papers <daily-papers.example.org>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", parsed["List-Unsubscribe"])
    assert https.startswith(f"{BASE_URL}/unsubscribe/")
    assert signed_links(https, links, "unsubscribe", subscriber) == ["42"]
    assert mailto.startswith("mailto:papers+unsubscribe-") and "@example.org" in mailto
    assert parsed["Reply-To"].startswith("papers+reply-")
    assert parsed["Subject"] == msg.subject
    # Responders are asked to stay quiet (RFC 3834 §3.1.8, Exchange); Gmail's feedback loop
    assert parsed["Precedence"] == "bulk"
    assert parsed["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert parsed["Feedback-ID"] == "digest:daily-papers:example.org"
    plain, html = parts(parsed)
    for part in (plain, html):
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert plain.get_content().replace("\r\n", "\n") == msg.text
    assert html.get_content().replace("\r\n", "\n") == msg.html


def test_every_paper_and_link_is_in_both_parts(
    renderer: Renderer, links: Links, largest_day: Edition, subscriber: Subscriber
) -> None:
    sections = split_sections(list(largest_day.papers), subscriber.topics)
    msg = renderer.digest(largest_day, subscriber, sections, now=NOW)
    for paper in largest_day.papers:
        title = clean_text(paper.title)
        assert title.replace("&", "&amp;").replace("'", "&#39;") in msg.html
        assert title in " ".join(msg.text.split())
        assert f'href="https://arxiv.org/abs/{paper.arxiv_id}"' in msg.html
        assert f'href="https://huggingface.co/papers/{paper.arxiv_id}"' in msg.html
        assert f"https://arxiv.org/pdf/{paper.arxiv_id}" in msg.text
    more = re.findall(rf'href="({BASE_URL}/feedback/[^"]+)"', msg.html)
    assert len(more) == 2 * len(largest_day.papers)
    values = set(signed_links(" ".join(more), links, "feedback", subscriber))
    first = largest_day.papers[0].arxiv_id
    assert {f"42:{first}:+1", f"42:{first}:-1"} <= values
    assert signed_links(msg.html, links, "preferences", subscriber) == ["42", "42"]  # top, footer
    assert signed_links(msg.html, links, "unsubscribe", subscriber) == ["42", "42"]  # top, footer
    assert msg.html.index(f"{BASE_URL}/unsubscribe/") < msg.html.index(first)  # near the top
    assert links.web_view(subscriber, largest_day.date) in msg.html  # the personal view
    assert "1 Example Street, 75000 Paris" in msg.html and "1 Example Street" in msg.text
    for leftover in ("{{", "{%", "<mj-", "mj-raw"):
        assert leftover not in msg.html and leftover not in msg.text


def test_size_budget_on_the_largest_fixture_day(
    renderer: Renderer, largest_day: Edition, subscriber: Subscriber
) -> None:
    assert len(largest_day.papers) == 29
    sections = split_sections(list(largest_day.papers), subscriber.topics)
    msg = renderer.digest(largest_day, subscriber, sections, now=NOW)
    boundary = parse(msg.data).get_boundary()
    assert boundary
    encoded_parts = msg.data.split(f"--{boundary}".encode())
    html_part = next(p for p in encoded_parts if b"Content-Type: text/html" in p)
    assert len(html_part) < 100_000, len(html_part)


class _Lint(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_has_nothing_email_clients_choke_on(
    renderer: Renderer, largest_day: Edition, subscriber: Subscriber
) -> None:
    sections = split_sections(list(largest_day.papers), subscriber.topics)
    html = renderer.digest(largest_day, subscriber, sections, now=NOW).html
    lint = _Lint()
    lint.feed(html)
    names = [tag for tag, _ in lint.tags]
    assert "table" in names  # layout tables come from MJML
    for forbidden in ("script", "form", "input", "iframe", "object", "embed"):
        assert forbidden not in names
    for tag, attrs in lint.tags:
        if tag == "link":
            assert attrs.get("rel") != "stylesheet", attrs
        if tag == "img":
            assert attrs.get("alt") is not None, attrs
        if tag == "a":
            assert (attrs.get("href") or "").startswith(("https://", "http://", "mailto:")), attrs
    assert "@import" not in html and "fonts.googleapis" not in html
    assert "prefers-color-scheme: dark" in html
    assert re.search(r'<meta name="color-scheme" content="light dark"\s*/?>', html)


def test_plain_text_reads_like_a_letter(
    renderer: Renderer, largest_day: Edition, subscriber: Subscriber
) -> None:
    sections = split_sections(list(largest_day.papers), subscriber.topics)
    text = renderer.digest(largest_day, subscriber, sections, now=NOW).text
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", text, flags=re.MULTILINE)]
    assert numbers == list(range(1, len(largest_day.papers) + 1))
    for line in text.splitlines():
        assert len(line) <= 100 or line.strip().startswith("http"), line
        if "http" in line:
            assert re.fullmatch(r"\s*https?://\S+", line), line  # URLs on their own lines
    assert "<" not in text.replace("<=", "")  # no HTML dump
    assert "&amp;" not in text and "&#" not in text


def test_subject_and_preheader(
    renderer: Renderer, largest_day: Edition, subscriber: Subscriber
) -> None:
    sections = split_sections(list(largest_day.papers), subscriber.topics)
    msg = renderer.digest(largest_day, subscriber, sections, now=NOW)
    counts = ", ".join(f"{len(s.items)} on {s.topic}" for s in sections)
    assert msg.subject == f"Daily Papers, 18 Aug: {counts}"
    top = clean_text(sections[0].items[0].paper.title)
    assert f"Top paper: {top}" in msg.html


def test_message_id_is_stable_and_unique(
    renderer: Renderer, largest_day: Edition, subscriber: Subscriber
) -> None:
    sections = split_sections(list(largest_day.papers), subscriber.topics)
    first = renderer.digest(largest_day, subscriber, sections, now=NOW)
    again = renderer.digest(largest_day, subscriber, sections, now=NOW + dt.timedelta(hours=1))
    other = renderer.digest(largest_day, dataclasses.replace(subscriber, id=43), sections, now=NOW)
    next_day = dataclasses.replace(largest_day, id=2, date=dt.date(2026, 8, 19))
    tomorrow = renderer.digest(next_day, subscriber, sections, now=NOW)
    assert first.message_id == again.message_id
    assert len({first.message_id, other.message_id, tomorrow.message_id}) == 3
    assert re.fullmatch(r"<[\w.]+@example\.org>", first.message_id)


def test_hostile_feed_and_subscriber_text_cannot_inject(renderer: Renderer) -> None:
    evil = Paper(
        arxiv_id="2608.00001",
        title="Attack\r\nBcc: victim@example.net\r\n<script>alert(1)</script> & more",
        abstract="<img src=x onerror=alert(1)> $x^2$\r\nSubject: hijack",
        authors=("Mallory <b>Bold</b>",),
        github_repo="javascript:alert(1)",
        sources=("hf_daily",),
    )
    edition = edition_of([evil], dt.date(2026, 8, 18))
    topic = "evil\r\nBcc: x@example.net"
    subscriber = Subscriber(
        id=7,
        email="eve@example.com",
        name="Eve\r\nCc: all@example.net",
        profile=Profile(topics=(topic,)),
        token_nonce="eve-nonce",
    )
    sections = (
        Section(title=topic, topic=topic, items=(RankedItem(paper=evil, score=1.0, reason=topic),)),
    )
    msg = renderer.digest(edition, subscriber, sections, now=NOW)
    parsed = parse(msg.data)
    assert parsed["Bcc"] is None and parsed["Cc"] is None and parsed["Subject"] == msg.subject
    assert "\n" not in msg.subject and "\r" not in msg.subject
    assert [a.addr_spec for a in parsed["To"].addresses] == ["eve@example.com"]
    assert "<script>" not in msg.html and "&lt;script&gt;" in msg.html
    assert "<img" not in msg.html and "&lt;img" in msg.html
    assert "javascript:" not in msg.html
    assert "Attack Bcc: victim@example.net <script>alert(1)</script> & more" in " ".join(
        msg.text.split()
    )


def test_empty_section_note_and_also_today(renderer: Renderer, largest_day: Edition) -> None:
    papers = list(largest_day.papers)
    sections = (
        Section(
            title="quantum chemistry",
            topic="quantum chemistry",
            items=(),
            empty_note="Nothing on quantum chemistry today.",
        ),
        Section(title="Also today", topic=None, items=(RankedItem(paper=papers[0], score=0.5),)),
    )
    subscriber = Subscriber(
        id=5,
        email="bo@example.com",
        profile=Profile(topics=("quantum chemistry",)),
        token_nonce="bo-nonce",
    )
    msg = renderer.digest(largest_day, subscriber, sections, now=NOW)
    assert (
        "Nothing on quantum chemistry today." in msg.html
        and "Nothing on quantum chemistry today." in msg.text
    )
    assert "Also today" in msg.html
    assert msg.subject.startswith("Daily Papers, 18 Aug: 1 new paper, top: ")


def test_web_page_has_no_personal_links(
    renderer: Renderer, links: Links, largest_day: Edition
) -> None:
    sections = split_sections(list(largest_day.papers), ("agents",))
    html = renderer.web_page(largest_day, sections)
    assert "/unsubscribe/" not in html and "/feedback/" not in html and "/preferences/" not in html
    assert 'href="../subscribe"' in html and links.subscribe() not in html  # relative
    assert all(
        clean_text(p.title).replace("&", "&amp;").replace("'", "&#39;") in html
        for p in largest_day.papers
    )
